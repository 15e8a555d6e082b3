export { type StoreEngine, type QueryParams, type InsertOptions, StoreUnavailableError, StoreQueryError } from "./engine.js";
export { EmbeddedEngine } from "./embedded.js";
export { ServerEngine, type ServerEngineOptions } from "./server-engine.js";
export { openEngine, type StoreLocation } from "./open.js";
export {
  migrate,
  applyRetention,
  readMigrations,
  splitStatements,
  schemaStatements,
  MIGRATIONS_DIR,
  type Retention,
  type Migration,
  type SchemaTarget,
} from "./migrations.js";
export { clusterStatements, checkClusterName, localTable } from "./cluster.js";
export { BatchedWriter, WriterFullError, type RecordSink, type WriterOptions, type WriterStats } from "./writer.js";
export { Store, type StoreOptions } from "./store.js";
export * from "./tables/index.js";
