/**
 * The schema on a ClickHouse cluster (`clickhouse_cluster` / VIGIL_CLICKHOUSE_CLUSTER): every
 * table `t` of the migrations becomes a replicated local table `t_local` on every node and a
 * Distributed table `t` over them, so every query Vigil sends, to any node, reads and writes the
 * names it always uses. The statements are derived from the migrations rather than written twice,
 * so a new migration is cluster-ready by construction (test/cluster-schema.int.test.ts checks each).
 *
 * What follows from the layout: materialized views are created on the local tables, so they fire
 * where a Distributed insert lands; ReplacingMergeTree, SummingMergeTree and AggregatingMergeTree
 * tables are sharded by a hash of their sorting key's first column, so rows that replace or add up
 * to each other meet on one shard (FINAL and merges need that); the others spread at random.
 */

/** A cluster name as it may appear in DDL (it cannot be a bound parameter there). */
const CLUSTER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export function checkClusterName(cluster: string): string {
  if (!CLUSTER_NAME.test(cluster)) throw new Error(`clickhouse_cluster must be a cluster name (letters, digits, _ . -), got "${cluster}"`);
  return cluster;
}

/** The replicated local table behind Distributed table `table`. */
export const localTable = (table: string) => `${table}_local`;

const CREATE_TABLE = /^CREATE TABLE IF NOT EXISTS (\w+) \(([\s\S]*)\) ENGINE = (\w*MergeTree)(?:\(([^)]*)\))?([\s\S]*)$/;
const CREATE_VIEW = /^CREATE MATERIALIZED VIEW IF NOT EXISTS (\w+) TO (\w+) AS([\s\S]*\bFROM )(\w+)([\s\S]*)$/;
const ALTER_TABLE = /^ALTER TABLE (\w+) ([\s\S]*)$/;
const DROP_VIEW = /^DROP VIEW IF EXISTS (\w+)$/;

/**
 * The Distributed table's sharding key. Rows a merge combines share their whole sorting key, so
 * hashing its first column puts them on one shard, and keeps a lease's claims (all one `name`)
 * together for the lease protocol's reads; plain MergeTree rows spread at random.
 */
function shardingKey(engine: string, tail: string): string {
  if (engine === "MergeTree") return "rand()";
  const first = /ORDER BY \(?\s*(\w+)/.exec(tail)?.[1];
  if (!first) throw new Error(`cannot shard ${engine} table without ORDER BY`);
  return `cityHash64(${first})`;
}

/**
 * One migration statement as the cluster runs it: CREATE TABLE gives the replicated local table
 * and its Distributed twin; a materialized view reads and writes local tables; ALTER TABLE
 * changes both tables; DROP VIEW drops the view on every node. `non_replicated_deduplication_window` becomes
 * `replicated_deduplication_window`, keeping the writer's replay idempotent on replicated tables.
 */
export function clusterStatements(statement: string, cluster: string): string[] {
  const on = `ON CLUSTER ${checkClusterName(cluster)}`;
  const table = CREATE_TABLE.exec(statement);
  if (table) {
    const [, name, columns, engine, args, tail] = table as unknown as [string, string, string, string, string | undefined, string];
    const local = localTable(name);
    const replicatedArgs = [`'/clickhouse/tables/{shard}/{database}/${local}'`, "'{replica}'", ...(args ? [args] : [])].join(", ");
    const localTail = tail.replace(/non_replicated_deduplication_window/g, "replicated_deduplication_window");
    return [
      `CREATE TABLE IF NOT EXISTS ${local} ${on} (${columns}) ENGINE = Replicated${engine}(${replicatedArgs})${localTail}`,
      `CREATE TABLE IF NOT EXISTS ${name} ${on} AS ${local} ENGINE = Distributed(${cluster}, currentDatabase(), ${local}, ${shardingKey(engine, tail)})`,
    ];
  }
  const view = CREATE_VIEW.exec(statement);
  if (view) {
    const [, name, target, select, source, rest] = view as unknown as [string, string, string, string, string, string];
    return [`CREATE MATERIALIZED VIEW IF NOT EXISTS ${name} ${on} TO ${localTable(target)} AS${select}${localTable(source)}${rest}`];
  }
  const alter = ALTER_TABLE.exec(statement);
  if (alter) {
    const [, name, change] = alter as unknown as [string, string, string];
    return [`ALTER TABLE ${localTable(name)} ${on} ${change}`, `ALTER TABLE ${name} ${on} ${change}`];
  }
  const dropView = DROP_VIEW.exec(statement);
  if (dropView) return [`DROP VIEW IF EXISTS ${dropView[1]} ${on} SYNC`];
  throw new Error(`no cluster form for the statement:\n${statement}`);
}
