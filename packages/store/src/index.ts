export { type StoreEngine, type QueryParams, type InsertOptions, StoreUnavailableError, StoreQueryError } from "./engine.js";
export { EmbeddedEngine } from "./embedded.js";
export { ServerEngine, type ServerEngineOptions } from "./server.js";
export { openEngine, type StoreLocation } from "./open.js";
export { migrate, applyRetention, readMigrations, splitStatements, MIGRATIONS_DIR, type Retention, type Migration } from "./migrations.js";
export { type PredictionRecord, type LabelRecord, formatDateTime64, predictionRow, labelRow } from "./records.js";
export { BatchedWriter, WriterFullError, type WriterOptions, type WriterStats } from "./writer.js";
export { Store, type StoreOptions } from "./store.js";
export { labelledPredictions, predictionCounts, duplicatedPredictions, type LabelledPrediction, type PredictionCount, type TimeRange } from "./queries.js";
