export { runLoadgen, formatSummary, type LoadgenOptions, type LoadgenSummary, type LoadgenProgress } from "./loadgen.js";
export { LatencyRecorder, type LatencySummary } from "./latency.js";
export { parseShift, compileShifts, type FeatureShift } from "./drift-plan.js";
export { startDashboard, type DashboardOptions, type RunningDashboard } from "./dashboard-process.js";
export { cliEnvSchema } from "./env.js";
export { startMonitoring, type MonitoringConfig, type Monitoring } from "./monitoring.js";
