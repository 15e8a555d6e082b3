import { status } from "@grpc/grpc-js";
import type { PredictionRecord, PredictionRole, RecordSink } from "@vigil/store";
import { WriterFullError } from "@vigil/store";
import { answerOfScores } from "@vigil/model-repository";
import type { NumericArray } from "./datatype-codecs.js";
import { InferenceError } from "./errors.js";
import type { ModelVersion } from "./model-version.js";
import type { JobResult } from "./scheduler.js";
import { type HostTensor, requestRows } from "./tensors.js";

/** What is known about a request before and while it runs. */
export interface RequestFacts {
  requestId: string;
  modelName: string;
  /** Epoch microseconds at arrival. */
  arrivedUs: number;
  arrivedNs: bigint;
  client: string;
  traceId: string;
  spanId: string;
  /** Who the rows are for: the client's answer (primary or canary) or a shadow run it never sees. */
  role: PredictionRole;
}

const SUMMARY_FEATURES = ["mean", "std", "min", "max"];
/** Wider outputs are not copied into the log row (a detector's maps, an embedding). */
const MAX_SCORES = 1024;

function rowValues(tensor: HostTensor, rows: number, row: number): ArrayLike<number | bigint> | undefined {
  if (Array.isArray(tensor.data)) return undefined;
  const width = tensor.data.length / rows;
  return (tensor.data as NumericArray).subarray(row * width, (row + 1) * width) as ArrayLike<number | bigint>;
}

/** The monitored features of one row, in config order; summary statistics when none are configured. */
function featuresOf(model: ModelVersion, inputs: HostTensor[], rows: number, row: number): number[] {
  const configured = model.config.monitored_features;
  if (configured.length > 0) {
    return configured.map((f) => {
      const values = rowValues(inputs.find((t) => t.name === f.input)!, rows, row);
      return values ? Number(values[f.column]) : Number.NaN;
    });
  }
  let values: ArrayLike<number | bigint> | undefined;
  for (let i = 0; values === undefined && i < inputs.length; i++) values = rowValues(inputs[i]!, rows, row);
  if (!values || values.length === 0) return [];
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = Number(values[i]);
    sum += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const mean = sum / values.length;
  let squares = 0;
  for (let i = 0; i < values.length; i++) squares += (Number(values[i]) - mean) ** 2;
  return [mean, Math.sqrt(squares / values.length), min, max];
}

/**
 * The status a row is logged with when the model answered it with NaN or ±Infinity. The client
 * still gets the answer as the model computed it (refusing it would hide what the model does, and
 * Vigil cannot know whether the inputs were meant to be finite), but the row is not a usable
 * prediction: a status other than OK keeps it out of every quality and drift window, and the
 * error column says why.
 */
const NON_FINITE_STATUS = "NON_FINITE_OUTPUT";

/** Whether one element is NaN or ±Infinity; FP16 travels as its bits (exponent all ones). */
function nonFiniteElement(datatype: HostTensor["datatype"], value: number | bigint): boolean {
  if (typeof value === "bigint") return false;
  return datatype === "FP16" ? (value & 0x7c00) === 0x7c00 : !Number.isFinite(value);
}

/**
 * Per request row, why its answer is not a number: "" when every value of every float output
 * is finite, else which outputs hold how many NaN or infinite values.
 */
function nonFiniteReasons(outputs: HostTensor[], rows: number): string[] {
  if (allFinite(outputs)) return new Array<string>(rows).fill("");
  const floats = outputs.filter((t) => t.datatype === "FP16" || t.datatype === "FP32" || t.datatype === "FP64");
  return Array.from({ length: rows }, (_, row) =>
    floats
      .flatMap((tensor) => {
        const values = rowValues(tensor, rows, row);
        let count = 0;
        for (let i = 0; values && i < values.length; i++) if (nonFiniteElement(tensor.datatype, values[i]!)) count++;
        return count > 0 ? [`output "${tensor.name}" holds ${count} non-finite value${count > 1 ? "s" : ""} (NaN or ±Infinity)`] : [];
      })
      .join("; "),
  );
}

/** A run's request rows, why each row's answer is not a number (nonFiniteReasons), and how many rows have a reason. */
export function answeredRows(model: ModelVersion, inputs: HostTensor[], outputs: HostTensor[]): { rows: number; nonFinite: string[]; nonFiniteRows: number } {
  const rows = requestRows(model.signature, inputs);
  const nonFinite = nonFiniteReasons(outputs, rows);
  return { rows, nonFinite, nonFiniteRows: nonFinite.filter((reason) => reason !== "").length };
}

/** The common case, checked without building a reason per row. */
function allFinite(outputs: HostTensor[]): boolean {
  for (const tensor of outputs) {
    if (tensor.datatype !== "FP16" && tensor.datatype !== "FP32" && tensor.datatype !== "FP64") continue;
    const values = tensor.data as NumericArray;
    for (let i = 0; i < values.length; i++) if (nonFiniteElement(tensor.datatype, values[i]!)) return false;
  }
  return true;
}

/** Names of the recorded features, for model metadata and the monitor. */
export function recordedFeatureNames(model: ModelVersion): string[] {
  const configured = model.config.monitored_features;
  return configured.length > 0 ? configured.map((f) => f.name) : SUMMARY_FEATURES.map((s) => `${model.signature.inputs[0]!.name}.${s}`);
}

/** Predicted class (argmax over the class names) or value, the scores, and the winning score. */
function predictionOf(model: ModelVersion, outputs: HostTensor[], rows: number, row: number): Pick<PredictionRecord, "prediction" | "scores" | "confidence"> {
  const first = outputs[0];
  const values = first ? rowValues(first, rows, row) : undefined;
  if (!values) return { prediction: "", scores: [], confidence: 0 };
  const scores = new Array<number>(Math.min(values.length, MAX_SCORES));
  for (let i = 0; i < scores.length; i++) scores[i] = Number(values[i]);
  // A clipped row (an output wider than MAX_SCORES) is no class score or single value to report.
  const answer = answerOfScores(scores.length === values.length ? scores : [], model.config.classes);
  return { prediction: answer.prediction, scores, confidence: answer.confidence };
}

type Outcome = Pick<PredictionRecord, "status" | "error" | "latencyUs" | "queueUs" | "computeUs" | "features" | "prediction" | "scores" | "confidence">;

/** One log row, written out field by field: every row has the same shape, which keeps building and serialising it fast. */
function recordOf(facts: RequestFacts, modelName: string, modelVersion: string, rows: number, row: number, o: Outcome): PredictionRecord {
  return {
    timestampUs: facts.arrivedUs,
    requestId: facts.requestId,
    rowIndex: row,
    traceId: facts.traceId,
    spanId: facts.spanId,
    modelName,
    modelVersion,
    status: o.status,
    error: o.error,
    latencyUs: o.latencyUs,
    queueUs: o.queueUs,
    computeUs: o.computeUs,
    batchSize: rows,
    features: o.features,
    prediction: o.prediction,
    scores: o.scores,
    confidence: o.confidence,
    client: facts.client,
    role: facts.role,
  };
}

/**
 * Turns every request, answered or refused, into prediction-log rows (one per request row) and
 * hands them to the store's writer before the response leaves: a request the log cannot take
 * within `waitMs` fails with UNAVAILABLE rather than being answered unlogged.
 */
export class PredictionRecorder {
  constructor(
    private readonly writer: RecordSink<PredictionRecord>,
    private readonly waitMs: number,
  ) {}

  /** `nonFinite` is nonFiniteReasons of the outputs: rows with a reason are logged as NON_FINITE_STATUS. */
  async success(facts: RequestFacts, model: ModelVersion, inputs: HostTensor[], outputs: HostTensor[], result: JobResult, nonFinite: string[]): Promise<void> {
    const rows = requestRows(model.signature, inputs);
    const latencyUs = Number(process.hrtime.bigint() - facts.arrivedNs) / 1000;
    const t = result.timing;
    const computeUs = (t.computeInputNs + t.computeInferNs + t.computeOutputNs) / 1000;
    const version = String(model.version);
    const queueUs = result.queueNs / 1000;
    const records: PredictionRecord[] = [];
    for (let row = 0; row < rows; row++) {
      const reason = nonFinite[row] ?? "";
      const answer = predictionOf(model, outputs, rows, row);
      const finite = reason === "";
      records.push(
        recordOf(facts, model.name, version, rows, row, {
          status: finite ? "OK" : NON_FINITE_STATUS,
          error: reason,
          latencyUs,
          queueUs,
          computeUs,
          features: featuresOf(model, inputs, rows, row),
          // The scores stay as computed; a class picked by comparing NaNs would be a made-up prediction.
          prediction: finite ? answer.prediction : "",
          scores: answer.scores,
          confidence: finite ? answer.confidence : Number.NaN,
        }),
      );
    }
    await this.append(records);
  }

  async failure(facts: RequestFacts, error: InferenceError, model: ModelVersion | undefined, requestedVersion: string): Promise<void> {
    await this.append([
      recordOf(facts, model?.name ?? facts.modelName, model ? String(model.version) : requestedVersion, 1, 0, {
        status: status[error.code] ?? "UNKNOWN",
        error: error.message,
        latencyUs: Number(process.hrtime.bigint() - facts.arrivedNs) / 1000,
        queueUs: 0,
        computeUs: 0,
        features: [],
        prediction: "",
        scores: [],
        confidence: 0,
      }),
    ]);
  }

  private async append(records: PredictionRecord[]): Promise<void> {
    try {
      if (records.length === 1) await this.writer.append(records[0]!, this.waitMs);
      else {
        const deadline = Date.now() + this.waitMs;
        for (const record of records) await this.writer.append(record, Math.max(0, deadline - Date.now()));
      }
    } catch (error) {
      if (error instanceof WriterFullError) {
        throw new InferenceError(
          status.UNAVAILABLE,
          `${error.message}; the request was not answered so that every answered request stays logged — retry later`,
        );
      }
      throw error;
    }
  }
}
