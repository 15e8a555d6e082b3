export { runLoadgen, formatSummary, type LoadgenOptions, type LoadgenSummary, type LoadgenProgress } from "./loadgen.js";
export { LatencyRecorder, type LatencySummary } from "./latency.js";
export { parseShift, compileShifts, type FeatureShift } from "./drift-plan.js";
export { buildReport, formatReport, formatTable, type ReportKind, type ReportWindow } from "./report.js";
export { monitoredInputs, catalogSource, catalogLookup, readCatalog, describeResults, type CatalogModel } from "./monitoring.js";
export { startDashboard, type RunningDashboard } from "./dashboard.js";
