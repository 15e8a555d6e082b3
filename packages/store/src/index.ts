export { type StoreEngine, type QueryParams, type InsertOptions, StoreUnavailableError, StoreQueryError } from "./engine.js";
export { EmbeddedEngine } from "./embedded.js";
export { ServerEngine, type ServerEngineOptions } from "./server.js";
export { openEngine, type StoreLocation } from "./open.js";
export { migrate, applyRetention, readMigrations, splitStatements, MIGRATIONS_DIR, type Retention, type Migration } from "./migrations.js";
export { type PredictionRecord, type LabelRecord, type SpanRecord, clickHouseFloat, formatDateTime64, isoFromClickHouse, formatDateTime64Nanos, predictionRow, labelRow, spanRow } from "./records.js";
export { BatchedWriter, WriterFullError, type WriterOptions, type WriterStats } from "./writer.js";
export { Store, type StoreOptions } from "./store.js";
export {
  labelledPredictions, predictionCounts, duplicatedPredictions, traceTree, recentTraces,
  type LabelledPrediction, type PredictionCount, type TimeRange, type TraceSpan, type TraceSummary, type TraceFilter,
} from "./queries.js";
