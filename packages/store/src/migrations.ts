import { readFile, readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { checkClusterName, clusterStatements, localTable } from "./cluster.js";
import type { StoreEngine } from "./engine.js";
import { PREDICTIONS } from "./tables/predictions.js";
import { SPANS, TRACE_BOUNDS } from "./tables/spans.js";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../migrations", import.meta.url));

export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

/** Statements of one .sql file: comments dropped, split at semicolons that end a line. */
export function splitStatements(sql: string): string[] {
  return sql
    .split("\n")
    .filter((line) => !line.trim().startsWith("--"))
    .join("\n")
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => ({
      version: Number(file.slice(0, 4)),
      name: file.replace(/\.sql$/, ""),
      statements: splitStatements(await readFile(`${dir}/${file}`, "utf8")),
    })),
  );
}

const SCHEMA_MIGRATIONS = `CREATE TABLE IF NOT EXISTS schema_migrations (
       version UInt32, name String, applied_at DateTime64(3, 'UTC')
     ) ENGINE = ReplacingMergeTree(applied_at) ORDER BY version`;

/** Where the schema lives: one server (the default), or a cluster of them (src/cluster.ts). */
export interface SchemaTarget {
  /** A ClickHouse cluster name from the servers' remote_servers config. */
  cluster?: string;
}

/** The statements that create the schema, in order, as `target` runs them: the migrations' own, or their cluster forms. */
export function schemaStatements(migration: Migration, target: SchemaTarget = {}): string[] {
  const { cluster } = target;
  return cluster === undefined ? migration.statements : migration.statements.flatMap((s) => clusterStatements(s, cluster));
}

/**
 * Applies the numbered migrations not yet recorded in schema_migrations, in order. Every
 * statement is idempotent (IF NOT EXISTS) and the record table is a ReplacingMergeTree, so
 * several processes migrating at once converge on the same schema and one record per version.
 */
export async function migrate(engine: StoreEngine, dir = MIGRATIONS_DIR, target: SchemaTarget = {}): Promise<string[]> {
  for (const statement of schemaStatements({ version: 0, name: "schema_migrations", statements: [SCHEMA_MIGRATIONS] }, target)) await engine.command(statement);
  const done = new Set((await engine.query<{ version: number }>("SELECT version FROM schema_migrations FINAL")).map((r) => Number(r.version)));
  const applied: string[] = [];
  for (const migration of await readMigrations(dir)) {
    if (done.has(migration.version)) continue;
    for (const statement of schemaStatements(migration, target)) {
      try {
        await engine.command(statement);
      } catch (error) {
        throw new Error(`migration ${migration.name} failed on ${engine.location}: ${(error as Error).message}\n--- statement:\n${statement}`);
      }
    }
    await engine.command("INSERT INTO schema_migrations (version, name, applied_at) VALUES ({version:UInt32}, {name:String}, now64(3))", {
      version: migration.version,
      name: migration.name,
    });
    applied.push(migration.name);
  }
  return applied;
}

export interface Retention {
  predictionsDays: number;
  tracesDays: number;
}

/**
 * Sets table TTLs from config. The day counts are validated integers, the only values that
 * enter DDL text (ClickHouse does not bind parameters in ALTER ... TTL).
 */
export async function applyRetention(engine: StoreEngine, retention: Retention, target: SchemaTarget = {}): Promise<void> {
  const targets: Array<[table: string, column: string, days: number]> = [
    [PREDICTIONS, "toDateTime(timestamp)", retention.predictionsDays],
    [SPANS, "toDateTime(Timestamp)", retention.tracesDays],
    [TRACE_BOUNDS, "Start", retention.tracesDays],
  ];
  for (const [name, column, days] of targets) {
    if (!Number.isInteger(days) || days < 1 || days > 36_500) throw new Error(`retention for ${name} must be 1..36500 days, got ${days}`);
    // On a cluster the TTL belongs to the replicated local tables, where the rows are.
    const table = target.cluster === undefined ? name : localTable(name);
    const on = target.cluster === undefined ? "" : ` ON CLUSTER ${checkClusterName(target.cluster)}`;
    const [current] = await engine.query<{ engine_full: string }>(
      "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = {table:String}",
      { table },
    );
    if (current?.engine_full.includes(`toIntervalDay(${days})`)) continue;
    await engine.command(`ALTER TABLE ${table}${on} MODIFY TTL ${column} + toIntervalDay(${days})`);
  }
}
