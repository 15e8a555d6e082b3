import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { EmbeddedEngine, type Migration, checkClusterName, localTable, readMigrations, schemaStatements } from "@vigil/store";
import { tempDir } from "./support/store.js";

const CLUSTER = "vigil_cluster";

/**
 * The schema's cluster form (clickhouse_cluster / VIGIL_CLICKHOUSE_CLUSTER), checked as far as
 * one process can: every statement parses (ClickHouse's own parser, through chDB's formatQuery),
 * runs ON CLUSTER, and keeps the layout the queries rely on. Executing it needs a real cluster
 * with Keeper: docs/deployment.md says what only that can prove.
 */
describe("schema on a ClickHouse cluster", () => {
  let dirs: Awaited<ReturnType<typeof tempDir>>;
  let engine: EmbeddedEngine;
  let migrations: Migration[];
  let statements: string[];

  before(async () => {
    dirs = await tempDir("vigil-cluster-schema-");
    engine = new EmbeddedEngine(dirs.path);
    migrations = await readMigrations();
    statements = migrations.flatMap((m) => schemaStatements(m, { cluster: CLUSTER }));
  });
  after(async () => {
    await engine.close();
    await dirs.remove();
  });

  test("every statement parses and runs ON CLUSTER", async () => {
    for (const statement of statements) {
      const [row] = await engine.query<{ formatted: string }>("SELECT formatQuery({sql:String}) AS formatted", { sql: statement });
      assert.match(row!.formatted, new RegExp(`^(CREATE|ALTER|DROP) [A-Z ]+ \`?\\w+\`? ON CLUSTER ${CLUSTER}\\b`), `parsed with ON CLUSTER:\n${statement}`);
    }
  });

  test("each table is a replicated local table with a Distributed twin of the migrations' name; views read and write local tables", () => {
    const created = (pattern: RegExp) => statements.flatMap((s) => pattern.exec(s)?.slice(1, 3) ?? []);
    const tables = migrations.flatMap((m) => m.statements.flatMap((s) => /^CREATE TABLE IF NOT EXISTS (\w+)/.exec(s)?.[1] ?? []));
    assert.ok(tables.length >= 10, `the migrations create the tables (${tables.join(", ")})`);
    const locals = new Map<string, string>();
    for (const s of statements) {
      const local = /^CREATE TABLE IF NOT EXISTS (\w+) ON CLUSTER \w+ \([\s\S]*\) ENGINE = (\w+)\(/.exec(s);
      if (local) locals.set(local[1]!, local[2]!);
    }
    const distributed = created(/^CREATE TABLE IF NOT EXISTS (\w+) ON CLUSTER \w+ AS (\w+) ENGINE = Distributed\(/);
    for (const table of tables) {
      assert.match(locals.get(localTable(table)) ?? "", /^Replicated\w*MergeTree$/, `${table} has a replicated local table`);
      const at = distributed.indexOf(table);
      assert.ok(at >= 0 && at % 2 === 0 && distributed[at + 1] === localTable(table), `${table} is a Distributed table over ${localTable(table)}`);
    }
    for (const s of statements.filter((x) => x.includes("MATERIALIZED VIEW"))) {
      assert.match(s, / TO \w+_local AS[\s\S]*\bFROM \w+_local\b/, `a view fires on local inserts and writes a local table:\n${s}`);
    }
    for (const s of statements.filter((x) => /Replicated\w*MergeTree/.test(x))) {
      assert.doesNotMatch(s, /non_replicated_deduplication_window/, "replay deduplication on replicated tables is replicated_deduplication_window");
    }
    const alters = statements.filter((s) => s.startsWith("ALTER TABLE"));
    const sourceAlters = migrations.flatMap((m) => m.statements.filter((s) => s.startsWith("ALTER TABLE")));
    assert.equal(alters.length, 2 * sourceAlters.length, "each ALTER changes the local table and its Distributed twin");
  });

  test("without a cluster the migrations run as written; a cluster name cannot carry SQL", () => {
    assert.deepEqual(
      migrations.flatMap((m) => schemaStatements(m)),
      migrations.flatMap((m) => m.statements),
    );
    assert.throws(() => checkClusterName("x; DROP TABLE predictions"), /cluster name/);
    assert.equal(checkClusterName("prod-eu.1"), "prod-eu.1");
  });
});
