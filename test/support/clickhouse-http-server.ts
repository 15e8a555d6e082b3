/**
 * Test harness only, never shipped: ClickHouse's HTTP interface in front of the embedded
 * engine, so @clickhouse/client (Vigil's server-mode path) runs against a real ClickHouse
 * engine over a real HTTP connection. No modern ClickHouse server package exists on these
 * machines (Debian's is 18.16 from 2018).
 *
 * Implements what the client uses: GET /ping; POST / with the statement in the body or the
 * `query` URL parameter; INSERT ... FORMAT with rows in the body; `param_*` bound parameters;
 * `database`; gzip request and response bodies; basic auth and X-ClickHouse-User/Key;
 * ClickHouse's error text, codes and X-ClickHouse-* headers.
 *
 * Run: node --import tsx test/support/clickhouse-http-server.ts DATA_DIR PORT [USER PASSWORD]
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { gunzipSync, gzipSync } from "node:zlib";
import { Session } from "chdb";

const [dataDir, portArg, user = "default", password = ""] = process.argv.slice(2);
if (!dataDir || !portArg) throw new Error("usage: clickhouse-http-server.ts DATA_DIR PORT [USER PASSWORD]");
const session = new Session(dataDir);

/** Settings the harness applies to inserts; others are accepted and ignored, as harmless to results. */
const INSERT_SETTINGS = new Set(["insert_deduplication_token", "deduplicate_blocks_in_dependent_materialized_views", "async_insert", "wait_for_async_insert"]);
const RESERVED = new Set([
  "query",
  "database",
  "default_format",
  "query_id",
  "session_id",
  "session_timeout",
  "enable_http_compression",
  "wait_end_of_query",
  "user",
  "password",
]);

/** Parameter values arrive in ClickHouse's escaped text form (a backslash before quotes, newlines, tabs ...). */
const ESCAPES: Record<string, string> = { b: "\b", f: "\f", r: "\r", n: "\n", t: "\t", "0": "\0", a: "\x07", v: "\v" };
function unescapeParam(value: string): string {
  return value.replace(/\\(.)/gs, (_, c: string) => ESCAPES[c] ?? c);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      try {
        resolve(req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw);
      } catch (error) {
        reject(error);
      }
    });
    req.on("error", reject);
  });
}

function credentialsOf(req: IncomingMessage, url: URL): { user: string; password: string } {
  const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "");
  if (basic) {
    const [u, ...p] = Buffer.from(basic[1]!, "base64").toString().split(":");
    return { user: u ?? "", password: p.join(":") };
  }
  return {
    user: String(req.headers["x-clickhouse-user"] ?? url.searchParams.get("user") ?? "default"),
    password: String(req.headers["x-clickhouse-key"] ?? url.searchParams.get("password") ?? ""),
  };
}

function fail(res: ServerResponse, status: number, code: number, message: string): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=UTF-8", "X-ClickHouse-Exception-Code": String(code) });
  res.end(message.startsWith("Code:") ? `${message}\n` : `Code: ${code}. DB::Exception: ${message}. (${code === 516 ? "AUTHENTICATION_FAILED" : "UNKNOWN"})\n`);
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (url.pathname === "/ping") {
    res.writeHead(200, { "Content-Type": "text/plain" }).end("Ok.\n");
    return;
  }
  const creds = credentialsOf(req, url);
  if (creds.user !== user || creds.password !== password) {
    fail(res, 403, 516, `${creds.user}: Authentication failed: password is incorrect, or there is no user with such name`);
    return;
  }
  const database = url.searchParams.get("database") ?? "default";
  if (database !== "default") {
    fail(res, 404, 81, `Database ${database} does not exist. (UNKNOWN_DATABASE)`);
    return;
  }
  const queryId = url.searchParams.get("query_id") ?? randomUUID();
  const params: Record<string, string> = {};
  const settings: Record<string, string> = {};
  for (const [key, value] of url.searchParams) {
    if (key.startsWith("param_")) params[key.slice(6)] = unescapeParam(value);
    else if (!RESERVED.has(key)) settings[key] = value;
  }
  const body = await readBody(req);
  const urlQuery = url.searchParams.get("query") ?? "";
  const headers: Record<string, string> = {
    "X-ClickHouse-Query-Id": queryId,
    "X-ClickHouse-Timezone": "UTC",
    "X-ClickHouse-Server-Display-Name": "vigil-test-clickhouse-http",
  };

  const insert = /^\s*INSERT\s+INTO\s+([A-Za-z0-9_.`]+)\s*(?:\(([^)]*)\))?\s*FORMAT\s+(\w+)\s*$/is.exec(urlQuery);
  if (insert && body.length > 0) {
    const [, table, columns, format] = insert;
    const insertSettings = Object.fromEntries(Object.entries(settings).filter(([k]) => INSERT_SETTINGS.has(k)));
    const summary = await session.insert({
      table: table!.replaceAll("`", ""),
      values: body,
      format: format as "JSONEachRow",
      ...(columns ? { columns: columns.split(",").map((c) => c.trim().replaceAll("`", "")) } : {}),
      settings: insertSettings,
    });
    headers["X-ClickHouse-Summary"] = JSON.stringify({ written_rows: String(summary.rowsWritten), written_bytes: String(summary.bytesWritten) });
    res.writeHead(200, headers).end();
    return;
  }

  let sql = `${urlQuery}${urlQuery && body.length ? "\n" : ""}${body.toString("utf8")}`.trim();
  let format = url.searchParams.get("default_format") ?? "TabSeparated";
  const formatClause = /\s+FORMAT\s+(\w+)\s*;?\s*$/i.exec(sql);
  if (formatClause) {
    format = formatClause[1]!;
    sql = sql.slice(0, formatClause.index);
  }
  const result = await session.queryBindAsync(sql, params, { format });
  const bytes = Buffer.from(result.bytes());
  headers["X-ClickHouse-Format"] = format;
  headers["Content-Type"] = format.startsWith("JSON") ? "application/json; charset=UTF-8" : "text/plain; charset=UTF-8";
  headers["X-ClickHouse-Summary"] = JSON.stringify({ read_rows: String(result.rowsRead), read_bytes: String(result.bytesRead) });
  const gzip = url.searchParams.get("enable_http_compression") === "1" && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
  if (gzip) {
    headers["Content-Encoding"] = "gzip";
    res.writeHead(200, headers).end(gzipSync(bytes));
  } else {
    res.writeHead(200, headers).end(bytes);
  }
}

const server = createServer((req, res) => {
  handle(req, res).catch((error: { message?: string; clickhouseCode?: number }) => {
    const code = error.clickhouseCode ?? 1002;
    if (!res.headersSent) fail(res, code === 60 ? 404 : 500, code, error.message ?? String(error));
    else res.destroy();
  });
});
server.keepAliveTimeout = 3000;
server.listen(Number(portArg), "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === "object" && address ? address.port : portArg}\n`);
});
const stop = () =>
  server.close(() => {
    session.close();
    process.exit(0);
  });
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
