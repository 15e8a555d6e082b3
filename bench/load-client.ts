/**
 * One load-generating process of the serving benchmark: closed loops sending ModelInfer requests
 * (one row each, raw tensors, as Triton's clients send them) over one grpc-js channel, started by
 * bench/serving.ts with `fork` so that clients can be spread over several processes and the
 * generator does not share its event loop with the benchmark that reads the server's statistics.
 * The parent sends a LoadJob; this process answers with a LoadResult and exits.
 */
import { credentials } from "@grpc/grpc-js";
import { GRPCInferenceServiceClient, ModelInferRequest } from "@vigil/proto";

export interface LoadJob {
  port: number;
  target: string;
  input: string;
  width: number;
  rows: number[][];
  inFlight: number;
  warmupMs: number;
  measureMs: number;
}

export interface LoadResult {
  calls: number;
  elapsedMs: number;
  /** Client-side latency of every measured call, in milliseconds. */
  latenciesMs: number[];
  error?: string;
}

async function run(job: LoadJob): Promise<LoadResult> {
  const client = new GRPCInferenceServiceClient(`127.0.0.1:${job.port}`, credentials.createInsecure(), {
    "grpc.max_send_message_length": -1,
    "grpc.max_receive_message_length": -1,
  });
  const requests = job.rows.map((row) => {
    const values = Float32Array.from(row);
    return ModelInferRequest.fromPartial({
      modelName: job.target,
      inputs: [{ name: job.input, datatype: "FP32", shape: [1n, BigInt(job.width)] }],
      rawInputContents: [Buffer.from(values.buffer, values.byteOffset, values.byteLength)],
    });
  });
  const infer = (i: number) =>
    new Promise<void>((resolve, reject) =>
      client.modelInfer(requests[i % requests.length]!, (e) => (e ? reject(new Error(`${job.target}: ${e.message}`)) : resolve())),
    );
  const loop = async (ms: number, latencies?: number[]) => {
    const deadline = performance.now() + ms;
    let calls = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: job.inFlight }, async () => {
        while (performance.now() < deadline) {
          const t0 = performance.now();
          await infer(calls++);
          latencies?.push(performance.now() - t0);
        }
      }),
    );
    return { calls, elapsedMs: performance.now() - started };
  };
  try {
    await loop(job.warmupMs);
    const latenciesMs: number[] = [];
    const measured = await loop(job.measureMs, latenciesMs);
    return { ...measured, latenciesMs };
  } finally {
    client.close();
  }
}

process.once("message", (job: LoadJob) => {
  run(job).then(
    (result) => process.send!(result, () => process.exit(0)),
    (error: unknown) => process.send!({ calls: 0, elapsedMs: 0, latenciesMs: [], error: String(error) } satisfies LoadResult, () => process.exit(1)),
  );
});
