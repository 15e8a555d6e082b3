import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { readFile, writeFile } from "node:fs/promises";
import {
  DEMO_MODEL_NAME,
  buildFlightDelayOnnx,
  buildVocabulary,
  loadFlights,
  seededRandom,
  shuffled,
  splitByMonth,
  trainFlightDelayModel,
} from "@vigil/demo-model";
import { type Monitoring, startMonitoring } from "@vigil/cli";
import type { ServerConfigInput } from "@vigil/inference";
import { MODEL_CONFIG_FILE, type RolloutPolicy, rolloutPolicyId, rolloutPolicySchema, writeModelVersion } from "@vigil/model-repository";
import { loadMonitorConfig, readCatalog } from "@vigil/monitor";
import {
  LABELS,
  type LabelRecord,
  PREDICTIONS,
  type PredictionRole,
  type RolloutEvent,
  type Store,
  type StoreEngine,
  labelRow,
  predictionRow,
} from "@vigil/store";
import { addDemoModel, tempRepository } from "./models.js";
import { openTestStore } from "./recording.js";
import { type TestServer, startTestServer } from "./server.js";
import { predictionRecord, quietLog, tempDir } from "./store.js";

/** One synthetic prediction row of a rollout, with its label when it has one. */
export interface RolloutRow {
  requestId: string;
  rowIndex?: number;
  timestampUs: number;
  version: string;
  role: PredictionRole;
  prediction: string;
  label?: string;
  status?: string;
  latencyUs: number;
}

/** Writes rows (and their labels, once per request row) straight into the store, as the server and the label API would. */
export async function insertRolloutRows(engine: StoreEngine, model: string, rows: RolloutRow[]): Promise<void> {
  const predictions = rows.map((r, i) =>
    predictionRow(
      predictionRecord(i, {
        modelName: model,
        requestId: r.requestId,
        rowIndex: r.rowIndex ?? 0,
        timestampUs: r.timestampUs,
        modelVersion: r.version,
        role: r.role,
        prediction: r.prediction,
        status: r.status ?? "OK",
        latencyUs: r.latencyUs,
        // Synthetic rows spend all their time in the model: a shadow is judged on compute time, a canary on latency.
        computeUs: r.latencyUs,
      }),
    ),
  );
  await engine.insertJsonLines(PREDICTIONS, Buffer.from(`${predictions.map((p) => JSON.stringify(p)).join("\n")}\n`));
  const labelled = new Map<string, LabelRecord>();
  for (const r of rows) {
    if (r.label === undefined) continue;
    const key = `${r.requestId}\u0000${r.rowIndex ?? 0}`;
    labelled.set(key, {
      requestId: r.requestId,
      rowIndex: r.rowIndex ?? 0,
      modelName: model,
      label: r.label,
      timestampUs: r.timestampUs + 1_000_000,
      source: "test",
    });
  }
  if (labelled.size > 0) {
    const lines = [...labelled.values()].map((l) => JSON.stringify(labelRow(l))).join("\n");
    await engine.insertJsonLines(LABELS, Buffer.from(`${lines}\n`));
  }
}

/** The 'started' event a server writes when it applies a policy. */
export function startedEvent(model: string, policy: RolloutPolicy, primaryVersion: string, atMs: number): RolloutEvent {
  return {
    timestampMs: atMs,
    modelName: model,
    policyId: rolloutPolicyId(model, policy),
    action: "started",
    mode: policy.mode,
    primaryVersion,
    candidateVersion: String(policy.candidate),
    actor: "server",
    reason: "",
    policy: JSON.stringify(policy),
  };
}

/** A rollout policy with the defaults config.json fills in. */
export function rolloutPolicy(settings: Partial<RolloutPolicy> & Pick<RolloutPolicy, "mode" | "candidate">): RolloutPolicy {
  return rolloutPolicySchema.parse(settings);
}

/** What test/python/rollout_reference.py answers: scipy's and statsmodels' figures for each case. */
export interface RolloutReference {
  wilson: Array<{ low: number; high: number }>;
  mcnemar: Array<{ p: number; difference: number; low: number; high: number }>;
  two_proportion: Array<{ z: number; p: number; low: number; high: number }>;
  mann_whitney: Array<{ u: number; p: number; rank_sum: number; tie_sum: number }>;
  percentiles: Array<[number, number, number]>;
}

/** Asks Debian's python3 (with python3-scipy and python3-statsmodels) for the reference figures of every case. */
export function rolloutReference(cases: Record<string, unknown[]>): RolloutReference {
  const output = execFileSync("/usr/bin/python3", [join(import.meta.dirname, "..", "python", "rollout_reference.py")], {
    input: JSON.stringify(cases),
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(output.toString()) as RolloutReference;
}

/** Synthetic rollouts use one-minute monitor windows. */
export const STEP_MS = 60_000;
/** Two hours back, on a window boundary: every row lies in the past and inside the log's retention. */
export const BASE_MS = Math.floor(Date.now() / STEP_MS) * STEP_MS - 2 * 3_600_000;
const CLASSES = ["on_time", "delayed"];

export interface Traffic {
  rows: number;
  /** Share of rows the candidate answers (canary) or also answers (shadow: every row when 1). */
  candidateShare: number;
  primaryAccuracy: number;
  candidateAccuracy: number;
  /** Windows the rows spread over, from BASE_MS. */
  windows: number;
  errorRate?: number;
  /** Shadow: the candidate's prediction copies the primary's on this share of rows (drawn afresh otherwise). */
  copyShare?: number;
  /** Added to every candidate row's latency (a slower candidate). */
  candidateDelayUs?: number;
}

const flip = (label: string) => (label === CLASSES[0] ? CLASSES[1]! : CLASSES[0]!);

/** Seeded traffic of one rollout: labels at random, each version right with its accuracy; latencies in whole microseconds with ties. */
export function traffic(mode: RolloutPolicy["mode"], seed: number, t: Traffic): RolloutRow[] {
  const random = seededRandom(seed);
  const rows: RolloutRow[] = [];
  const spanUs = t.windows * STEP_MS * 1000;
  for (let i = 0; i < t.rows; i++) {
    const timestampUs = BASE_MS * 1000 + Math.floor((i / t.rows) * spanUs);
    const label = random() < 0.5 ? CLASSES[0]! : CLASSES[1]!;
    const status = random() < (t.errorRate ?? 0) ? "UNAVAILABLE" : "OK";
    const primaryPrediction = random() < t.primaryAccuracy ? label : flip(label);
    const candidatePrediction = random() < (t.copyShare ?? 0) ? primaryPrediction : random() < t.candidateAccuracy ? label : flip(label);
    const latencyUs = 1000 + Math.floor(random() * 300);
    const requestId = `${seed}-${i}`;
    const candidate = random() < t.candidateShare;
    if (mode === "canary") {
      rows.push({
        requestId,
        timestampUs,
        version: candidate ? "2" : "1",
        role: candidate ? "canary" : "primary",
        prediction: candidate ? candidatePrediction : primaryPrediction,
        label,
        status,
        latencyUs: candidate ? latencyUs + (t.candidateDelayUs ?? 0) : latencyUs,
      });
      continue;
    }
    rows.push({ requestId, timestampUs, version: "1", role: "primary", prediction: primaryPrediction, label, status, latencyUs });
    if (candidate)
      rows.push({
        requestId,
        timestampUs,
        version: "2",
        role: "shadow",
        prediction: candidatePrediction,
        label,
        status,
        latencyUs: latencyUs + 5 + (t.candidateDelayUs ?? 0),
      });
  }
  return rows;
}

/** Candidate rows' labels shuffled among themselves: the candidate's predictions no longer follow the truth. */
export function shuffleCandidateLabels(rows: RolloutRow[], seed: number): RolloutRow[] {
  const random = seededRandom(seed);
  const candidate = rows.filter((r) => r.role !== "primary");
  const labels = candidate.map((r) => r.label);
  for (let i = labels.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [labels[i], labels[j]] = [labels[j], labels[i]];
  }
  let next = 0;
  return rows.map((r) => (r.role === "primary" ? r : { ...r, label: labels[next++] }));
}

/**
 * A version of the demo model trained on the same January–February flights with their delays
 * shuffled among them: it learned no link between a flight and its delay, so on later flights
 * it is worse than version 1 (a candidate a rollout must catch).
 */
export async function addShuffledLabelVersion(repository: string, version: number): Promise<void> {
  const { train } = splitByMonth(loadFlights());
  const delays = shuffled(
    train.map((f) => f.delay),
    18,
  );
  const weights = trainFlightDelayModel(
    train.map((f, i) => ({ ...f, delay: delays[i]! })),
    buildVocabulary(train),
  );
  await writeModelVersion(join(repository, DEMO_MODEL_NAME), version, { model: buildFlightDelayOnnx(weights) });
}

/**
 * Gives a model's config.json a rollout, loading every version so both the primary and the
 * candidate serve; `model` may be a copy of the demo model under another name.
 */
export async function setRollout(
  repository: string,
  rollout: Partial<RolloutPolicy> & Pick<RolloutPolicy, "mode" | "candidate">,
  model: string = DEMO_MODEL_NAME,
): Promise<void> {
  const path = join(repository, model, MODEL_CONFIG_FILE);
  const config = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
  await writeFile(path, `${JSON.stringify({ ...config, name: model, version_policy: { all: true }, rollout }, null, 2)}\n`);
}

/** A canary from serving to the monitor on real parts, as rolloutStack() starts it. */
export interface RolloutStack {
  /** The model repository: the demo model with version 2, trained on shuffled delays, as its canary. */
  repository: string;
  store: Store;
  /** `vigil serve`'s server, recording into `store` and reading rollbacks back every second. */
  server: TestServer;
  /** Flushes the prediction and label writers, so what the server answered is in the store. */
  flush: () => Promise<void>;
  /** Starts the monitor's schedule over `window`-long windows and its API accepting `token`; close() stops it. */
  startMonitoring: (window: string, token: string) => Monitoring;
  /** Stops whatever started, in reverse order, and removes the directories. */
  close: () => Promise<void>;
}

export interface RolloutStackOptions {
  /** The share of requests the canary answers. */
  canaryWeight: number;
  /** The server's log level ("info" keeps its rollout lines in `server.logs`). */
  logLevel: ServerConfigInput["log_level"];
  /** What an unreadable model config does to the monitor's catalog: fail a test, warn a script. */
  onCatalogError: (error: Error) => void;
  /** Runs on the repository after the canary is set and before the server starts (another model beside it). */
  prepare?: (repository: string) => Promise<void>;
}

/**
 * The demo model served with a canary that is worse than version 1 (addShuffledLabelVersion)
 * into an embedded store of its own; the monitor starts when the caller says, so traffic may
 * come before it or after it.
 */
export async function rolloutStack(options: RolloutStackOptions): Promise<RolloutStack> {
  const dirs = await tempDir("vigil-rollout-stack-");
  const repo = await tempRepository();
  let store: Store | undefined;
  let server: TestServer | undefined;
  let monitoring: Monitoring | undefined;
  const close = async () => {
    await monitoring?.stop();
    await server?.stop();
    await store?.close();
    await repo.remove();
    await dirs.remove();
  };
  try {
    await addDemoModel(repo.path);
    await addShuffledLabelVersion(repo.path, 2);
    await setRollout(repo.path, { mode: "canary", candidate: 2, primary: 1, canary_weight: options.canaryWeight });
    await options.prepare?.(repo.path);
    const opened = await openTestStore({ dataDir: join(dirs.path, "data"), spoolDir: join(dirs.path, "spool") });
    store = opened;
    await opened.ready();
    server = await startTestServer({ model_repository: repo.path, log_level: options.logLevel, rollout_poll_secs: 1 }, opened);
    return {
      repository: repo.path,
      store: opened,
      server,
      flush: async () => {
        await Promise.all([opened.predictions.flush(), opened.labels.flush()]);
      },
      startMonitoring: (window, token) => {
        monitoring = startMonitoring(
          opened.engine,
          () => readCatalog(repo.path, options.onCatalogError),
          { monitor: loadMonitorConfig({ overrides: { window, lag: "0s" } }), api: { host: "127.0.0.1", port: 0, tokens: [token] } },
          { log: quietLog },
        );
        return monitoring;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
