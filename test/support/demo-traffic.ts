import assert from "node:assert/strict";
import { join } from "node:path";
import { type LoadgenOptions, type LoadgenSummary, runLoadgen } from "@vigil/cli";
import { type ModelLookup, MonitorJob, type RepositoryListing, catalogLookup, catalogRepository, parseSlo, readCatalog, startMonitorApi } from "@vigil/monitor";
import type { Store } from "@vigil/store";
import { addDemoModel, tempRepository } from "./models.js";
import { openTestStore } from "./recording.js";
import { type TestServer, startTestServer } from "./server.js";
import { tempDir } from "./store.js";

export interface DemoTraffic {
  store: Store;
  server: TestServer;
  summary: LoadgenSummary;
  /** When the traffic started and ended (ms). */
  startedMs: number;
  endedMs: number;
  /** The monitor's view of the repository's models. */
  lookup: ModelLookup;
  /** The repository's models, as the API lists them. */
  repository: RepositoryListing;
  /** The monitor API over this store, accepting `token`, with one availability SLO for the demo model. */
  startApi: (token: string) => ReturnType<typeof startMonitorApi>;
  close: () => Promise<void>;
}

/**
 * `requests` held-out flights sent to the demo model at `target` as fast as 4 clients go, one
 * row each, in a seeded shuffled order, each labelled at once; `options` change any of it.
 */
export function flightsTraffic(target: string, requests: number, options: Partial<LoadgenOptions> = {}): Promise<LoadgenSummary> {
  return runLoadgen({
    target,
    model: "flights",
    rate: 0,
    concurrency: 4,
    requests,
    durationMs: 0,
    batch: 1,
    shuffle: true,
    labelFraction: 1,
    labelDelayMs: 0,
    ...options,
  });
}

/**
 * A server with the demo model recording into its own embedded store, `requests` labelled
 * requests (half of them labelled) already answered and flushed, and one monitor window over
 * them evaluated: what the API and dashboard tests read.
 */
export async function demoTraffic(requests: number): Promise<DemoTraffic> {
  const dirs = await tempDir("vigil-demo-traffic-");
  const repo = await tempRepository();
  await addDemoModel(repo.path);
  const store = await openTestStore({ dataDir: join(dirs.path, "data"), spoolDir: join(dirs.path, "spool") });
  await store.ready();
  const server = await startTestServer({ model_repository: repo.path, log_level: "warn" }, store);
  const startedMs = Date.now();
  const summary = await flightsTraffic(server.address, requests, { labelFraction: 0.5 });
  await Promise.all([store.predictions.flush(), store.labels.flush(), store.spans.flush()]);
  const endedMs = Date.now();
  const catalog = () => readCatalog(repo.path, (e) => assert.fail(e));
  const lookup = catalogLookup(store.engine, catalog);
  const repository = catalogRepository(catalog);
  const monitored = (await lookup("flights", "1"))!;
  await new MonitorJob(store.engine, () => [monitored], { windowMs: 600_000, everyMs: 600_000 }).runOnce({
    fromUs: (startedMs - 60_000) * 1000,
    toUs: endedMs * 1000,
  });
  return {
    store,
    server,
    summary,
    startedMs,
    endedMs,
    lookup,
    repository,
    startApi: (token) =>
      startMonitorApi({
        engine: store.engine,
        host: "127.0.0.1",
        port: 0,
        tokens: [token],
        models: lookup,
        repository,
        slos: [parseSlo({ name: "flights-availability", model: "flights", indicator: "availability", objective: 0.99, window: "1d" })],
      }),
    close: async () => {
      await server.stop();
      await store.close();
      await repo.remove();
      await dirs.remove();
    },
  };
}
