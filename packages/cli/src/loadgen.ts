import { Metadata, type ServiceError, credentials, status } from "@grpc/grpc-js";
import { type AirportVocabulary, type FlightRecord, createFlightEncoder, isDelayed, loadFlights, shuffled, splitByMonth } from "@vigil/demo-model";
import { FeedbackClient, GRPCInferenceServiceClient, ModelInferRequest, type ModelInferResponse, type ModelMetadataResponse } from "@vigil/proto";
import { type FeatureShift, compileShifts } from "./drift-plan.js";
import { LabelSender } from "./label-sender.js";
import { type LatencySummary, LatencyRecorder } from "./latency.js";

export interface LoadgenOptions {
  /** host:port of the inference server. */
  target: string;
  model: string;
  /** Requests per second across all workers; 0 sends as fast as the concurrency allows. */
  rate: number;
  concurrency: number;
  /** Stop after this many requests (0: no limit). */
  requests: number;
  /** Stop after this long (0: no limit). */
  durationMs: number;
  /** Rows per request. */
  batch: number;
  /** Request ids are this and the request's number; `loadgen-<pid>-` when absent. Runs side by side need their own to be told apart in the log. */
  idPrefix?: string;
  token?: string;
  /** PEM root certificate to trust, for a TLS server. */
  tlsCa?: Buffer;
  signal?: AbortSignal;
  /** Share of answered requests whose true outcome is sent back through Feedback/SubmitLabels (0 to 1). */
  labelFraction?: number;
  /** How long after the answer the label is sent. */
  labelDelayMs?: number;
  /** Replay the held-out flights in a seeded random order instead of by date, so any stretch of traffic is a fair sample of the month. */
  shuffle?: boolean;
  /** Shifts applied to the inputs of requests from number `driftAfter` on (planted drift). */
  drift?: FeatureShift[];
  driftAfter?: number;
  /** Called about every `progressEveryMs` with the running totals. */
  onProgress?: (progress: LoadgenProgress) => void;
  progressEveryMs?: number;
}

export interface LoadgenProgress {
  sent: number;
  ok: number;
  failed: number;
  elapsedMs: number;
  /** Latency over the requests finished since the previous report. */
  window: LatencySummary;
}

export interface LoadgenSummary {
  sent: number;
  ok: number;
  failed: number;
  errors: Record<string, number>;
  elapsedMs: number;
  achievedQps: number;
  latency: LatencySummary;
  /** Share of answered rows whose predicted class matches the flight's real outcome. */
  accuracy: number;
  labelsSent: number;
  labelsFailed: number;
}

interface DescribedFeature {
  name: string;
  column: number;
  categories?: string[];
}

function featuresOf(metadata: ModelMetadataResponse): DescribedFeature[] {
  return JSON.parse(metadata.properties.monitored_features ?? "[]") as DescribedFeature[];
}

function vocabularyFrom(metadata: ModelMetadataResponse): AirportVocabulary {
  const features = featuresOf(metadata);
  const categories = (name: string) => {
    const found = features.find((f) => f.name === name)?.categories;
    if (!found) throw new Error(`model ${metadata.name} does not describe a categorical feature "${name}"; loadgen drives the flights demo model`);
    return found;
  };
  return { origin: categories("origin"), destination: categories("destination") };
}

function call<Req, Res>(
  method: (req: Req, md: Metadata, opts: { deadline: number }, cb: (e: ServiceError | null, r: Res) => void) => unknown,
  client: GRPCInferenceServiceClient,
  request: Req,
  metadata: Metadata,
): Promise<Res> {
  return new Promise((resolve, reject) => method.call(client, request, metadata, { deadline: Date.now() + 30_000 }, (e, r) => (e ? reject(e) : resolve(r))));
}

/** How long a load generator waits for a model that is still loading (its server just started). */
const MODEL_READY_WAIT_MS = 30_000;

/**
 * The model's metadata, asked again while the server answers UNAVAILABLE (a model still loading
 * says "retry shortly"), so a load generator started beside its server waits for the model.
 */
async function metadataWhenReady(client: GRPCInferenceServiceClient, model: string, metadata: Metadata, signal: AbortSignal | undefined) {
  const deadline = Date.now() + MODEL_READY_WAIT_MS;
  for (;;) {
    try {
      return await call(client.modelMetadata, client, { name: model, version: "" }, metadata);
    } catch (error) {
      if ((error as ServiceError).code !== status.UNAVAILABLE || Date.now() >= deadline || signal?.aborted) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/**
 * Replays held-out flights (March 2001, never seen in training) against the server at a
 * chosen rate and concurrency, over raw tensors as Triton clients send them.
 */
export async function runLoadgen(options: LoadgenOptions): Promise<LoadgenSummary> {
  const creds = options.tlsCa ? credentials.createSsl(options.tlsCa) : credentials.createInsecure();
  const client = new GRPCInferenceServiceClient(options.target, creds);
  const feedback = new FeedbackClient(options.target, creds);
  const metadata = new Metadata();
  if (options.token) metadata.set("authorization", `Bearer ${options.token}`);
  try {
    const modelMetadata = await metadataWhenReady(client, options.model, metadata, options.signal);
    const encode = createFlightEncoder(vocabularyFrom(modelMetadata));
    const shift = compileShifts(options.drift ?? [], featuresOf(modelMetadata));
    const driftAfter = options.driftAfter ?? 0;
    const idPrefix = options.idPrefix ?? `loadgen-${process.pid}-`;
    const heldOut: FlightRecord[] = splitByMonth(loadFlights()).heldOut;
    const flights = options.shuffle ? shuffled(heldOut, 2001) : heldOut;
    const requestFor = (index: number) => {
      const rows = Array.from({ length: options.batch }, (_, r) => flights[(index * options.batch + r) % flights.length]!);
      const drifting = (options.drift?.length ?? 0) > 0 && index >= driftAfter;
      const data = Float32Array.from(rows.flatMap((row) => (drifting ? shift(encode(row)) : encode(row))));
      const request = ModelInferRequest.fromPartial({
        modelName: options.model,
        id: `${idPrefix}${index}`,
        inputs: [{ name: "features", datatype: "FP32", shape: [BigInt(rows.length), 5n] }],
        rawInputContents: [Buffer.from(data.buffer)],
      });
      return { request, truth: rows.map(isDelayed) };
    };

    const labels = new LabelSender(feedback, metadata, options.model, options.labelFraction ?? 0, options.labelDelayMs ?? 0);
    const total = new LatencyRecorder();
    const window = new LatencyRecorder();
    const errors: Record<string, number> = {};
    let sent = 0;
    let ok = 0;
    let failed = 0;
    let correct = 0;
    let answeredRows = 0;
    const started = performance.now();
    const elapsed = () => performance.now() - started;
    const finished = () =>
      options.signal?.aborted === true || (options.requests > 0 && sent >= options.requests) || (options.durationMs > 0 && elapsed() >= options.durationMs);

    const score = (response: ModelInferResponse, truth: boolean[]) => {
      const raw = response.rawOutputContents[0];
      if (!raw) return;
      const p = new Float32Array(Uint8Array.from(raw).buffer);
      truth.forEach((delayed, i) => {
        if (p[2 * i + 1]! >= p[2 * i]! === delayed) correct++;
        answeredRows++;
      });
    };

    const worker = async () => {
      while (!finished()) {
        const index = sent++;
        if (options.rate > 0) {
          const due = (index / options.rate) * 1000 - elapsed();
          if (due > 0) await new Promise((r) => setTimeout(r, due));
          if (options.signal?.aborted) return;
        }
        const { request, truth } = requestFor(index);
        const t0 = performance.now();
        try {
          const response = await call(client.modelInfer, client, request, metadata);
          score(response, truth);
          labels.add(
            index,
            response.id,
            truth.map((delayed) => (delayed ? "delayed" : "on_time")),
          );
          ok++;
        } catch (error) {
          failed++;
          const code = status[(error as ServiceError).code ?? status.UNKNOWN] ?? "UNKNOWN";
          errors[code] = (errors[code] ?? 0) + 1;
        }
        const ms = performance.now() - t0;
        total.record(ms);
        window.record(ms);
      }
    };

    const progressTimer = options.onProgress
      ? setInterval(() => {
          options.onProgress!({ sent, ok, failed, elapsedMs: elapsed(), window: window.summary() });
          window.reset();
        }, options.progressEveryMs ?? 1000)
      : undefined;
    try {
      await Promise.all(Array.from({ length: options.concurrency }, worker));
      if (options.signal?.aborted) labels.stop();
      else await labels.finish();
    } finally {
      clearInterval(progressTimer);
      labels.stop();
    }
    const elapsedMs = elapsed();
    return {
      sent: ok + failed,
      ok,
      failed,
      errors,
      elapsedMs,
      achievedQps: ((ok + failed) / elapsedMs) * 1000,
      latency: total.summary(),
      accuracy: answeredRows === 0 ? 0 : correct / answeredRows,
      labelsSent: labels.sent,
      labelsFailed: labels.failed,
    };
  } finally {
    client.close();
    feedback.close();
  }
}

export function formatSummary(s: LoadgenSummary): string {
  const errors =
    Object.entries(s.errors)
      .map(([code, n]) => `${code} ${n}`)
      .join(", ") || "none";
  const l = s.latency;
  return [
    `requests  ${s.sent} (${s.ok} ok, ${s.failed} failed: ${errors}) in ${(s.elapsedMs / 1000).toFixed(1)} s`,
    `qps       ${s.achievedQps.toFixed(1)}`,
    `latency   p50 ${l.p50Ms.toFixed(2)} ms  p90 ${l.p90Ms.toFixed(2)} ms  p99 ${l.p99Ms.toFixed(2)} ms  max ${l.maxMs.toFixed(2)} ms`,
    `accuracy  ${(100 * s.accuracy).toFixed(1)}% of answered held-out flights`,
    ...(s.labelsSent + s.labelsFailed > 0 ? [`labels    ${s.labelsSent} sent, ${s.labelsFailed} failed`] : []),
  ].join("\n");
}
