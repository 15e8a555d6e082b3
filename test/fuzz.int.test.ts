import assert from "node:assert/strict";
import { Metadata, type ServiceError, credentials, makeGenericClientConstructor, status } from "@grpc/grpc-js";
import { after, before, describe, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { seededRandom } from "@vigil/demo-model";
import { ModelInferRequest, ServerLiveRequest } from "@vigil/proto";
import { unary } from "./support/grpc.js";
import { addDemoModel } from "./support/models.js";
import { type TestServer, serveRepository } from "./support/server.js";

const CASES = 10_000;

/** A full garbage collection, so heap figures count live objects only (a leak), not garbage not yet collected. */
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;
const liveHeap = () => {
  collectGarbage();
  return process.memoryUsage().heapUsed;
};
const IN_FLIGHT = 32;

type Mutation = (random: () => number) => { request: Buffer; metadata?: Metadata; deadline?: number; expect: readonly status[] };

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const randomBytes = (random: () => number, n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
const encode = (partial: Parameters<typeof ModelInferRequest.fromPartial>[0]) =>
  Buffer.from(ModelInferRequest.encode(ModelInferRequest.fromPartial(partial)).finish());
const float32 = (values: number[]) => Buffer.from(Float32Array.from(values).buffer);
const FLIGHT = [8, 2, 1200, 3, 4];

/** A valid demo-model input with one thing wrong. */
const input = (overrides: Record<string, unknown> = {}) => ({ name: "features", datatype: "FP32", shape: [1n, 5n], ...overrides });

const INVALID = [status.INVALID_ARGUMENT] as const;

/**
 * The ways a request can be wrong, each with the statuses that are a proper answer to it. No
 * case may get UNKNOWN (an unhandled error) or crash the server.
 */
const MUTATIONS: Record<string, Mutation> = {
  "random bytes": (r) => ({ request: randomBytes(r, Math.floor(r() * 512)), expect: [status.INVALID_ARGUMENT, status.NOT_FOUND, status.INTERNAL] }),
  "unknown model": (r) => ({
    request: encode({ modelName: `no-such-${Math.floor(r() * 1e6)}`, inputs: [input()], rawInputContents: [float32(FLIGHT)] }),
    expect: [status.NOT_FOUND, status.INVALID_ARGUMENT],
  }),
  "path-like model name": () => ({
    request: encode({ modelName: "../../etc/passwd", inputs: [input()], rawInputContents: [float32(FLIGHT)] }),
    expect: [status.NOT_FOUND, status.INVALID_ARGUMENT],
  }),
  "wrong datatype": (r) => ({
    request: encode({
      modelName: "flights",
      inputs: [input({ datatype: pick(r, ["INT64", "FP64", "BYTES", "BOOL", "UINT8", "BF16", "NOPE", ""]) })],
      rawInputContents: [float32(FLIGHT)],
    }),
    expect: INVALID,
  }),
  "wrong rank": (r) => ({
    request: encode({ modelName: "flights", inputs: [input({ shape: pick(r, [[5n], [1n, 1n, 5n], []]) })], rawInputContents: [float32(FLIGHT)] }),
    expect: INVALID,
  }),
  "wrong width": (r) => ({
    request: encode({ modelName: "flights", inputs: [input({ shape: [1n, BigInt(pick(r, [1, 4, 6, 100]))] })], rawInputContents: [float32(FLIGHT)] }),
    expect: INVALID,
  }),
  "huge dims": (r) => ({
    request: encode({
      modelName: "flights",
      inputs: [input({ shape: [BigInt(pick(r, [2 ** 31, 2 ** 40, 2 ** 53])), 5n] })],
      rawInputContents: [float32(FLIGHT)],
    }),
    expect: [status.INVALID_ARGUMENT, status.RESOURCE_EXHAUSTED],
  }),
  "negative dims": (r) => ({
    request: encode({ modelName: "flights", inputs: [input({ shape: [BigInt(pick(r, [-1, -5, -(2 ** 40)])), 5n] })], rawInputContents: [float32(FLIGHT)] }),
    expect: INVALID,
  }),
  "raw length mismatch": (r) => ({
    request: encode({ modelName: "flights", inputs: [input()], rawInputContents: [randomBytes(r, pick(r, [0, 3, 19, 21, 40]))] }),
    expect: INVALID,
  }),
  "invalid UTF-8 in BYTES": () => ({
    request: encode({ modelName: "flights", inputs: [input({ datatype: "BYTES", contents: { bytesContents: [Buffer.from([0xff, 0xfe, 0xc3, 0x28])] } })] }),
    expect: INVALID,
  }),
  "raw and typed contents together": () => ({
    request: encode({ modelName: "flights", inputs: [input({ contents: { fp32Contents: FLIGHT } })], rawInputContents: [float32(FLIGHT)] }),
    expect: INVALID,
  }),
  "no inputs": () => ({ request: encode({ modelName: "flights", inputs: [] }), expect: INVALID }),
  "unknown input name": (r) => ({
    request: encode({ modelName: "flights", inputs: [input({ name: `x${Math.floor(r() * 100)}` })], rawInputContents: [float32(FLIGHT)] }),
    expect: INVALID,
  }),
  "duplicate inputs": () => ({
    request: encode({ modelName: "flights", inputs: [input(), input()], rawInputContents: [float32(FLIGHT), float32(FLIGHT)] }),
    expect: INVALID,
  }),
  "more raw buffers than inputs": () => ({
    request: encode({ modelName: "flights", inputs: [input()], rawInputContents: [float32(FLIGHT), float32(FLIGHT)] }),
    expect: INVALID,
  }),
  "batch over the maximum": () => ({
    request: encode({ modelName: "flights", inputs: [input({ shape: [257n, 5n] })], rawInputContents: [float32(Array.from({ length: 257 * 5 }, () => 1))] }),
    expect: INVALID,
  }),
  "unknown output requested": () => ({
    request: encode({ modelName: "flights", inputs: [input()], outputs: [{ name: "nope" }], rawInputContents: [float32(FLIGHT)] }),
    expect: INVALID,
  }),
  "non-numeric version": (r) => ({
    request: encode({
      modelName: "flights",
      modelVersion: pick(r, ["latest", "-1", "1.5", "0", "99999999999999999999"]),
      inputs: [input()],
      rawInputContents: [float32(FLIGHT)],
    }),
    expect: [status.INVALID_ARGUMENT, status.NOT_FOUND],
  }),
  "absurd metadata": (r) => {
    const metadata = new Metadata();
    metadata.set("authorization", `Bearer ${"x".repeat(Math.floor(r() * 4000))}`);
    metadata.set("x-junk-bin", randomBytes(r, 64));
    metadata.set("x-long", "y".repeat(Math.floor(r() * 6000)));
    metadata.set("traceparent", "00-zzzz-yyyy-01");
    return {
      request: encode({ modelName: "flights", inputs: [input()], rawInputContents: [float32(FLIGHT)] }),
      metadata,
      expect: [status.OK, status.INTERNAL, status.INVALID_ARGUMENT],
    };
  },
  "deadline of 0": () => ({
    request: encode({ modelName: "flights", inputs: [input()], rawInputContents: [float32(FLIGHT)] }),
    deadline: 0,
    expect: [status.DEADLINE_EXCEEDED],
  }),
};

/** A client that sends bytes as they are, so the server sees exactly what the case built. */
const RawClient = makeGenericClientConstructor(
  {
    modelInfer: {
      path: "/inference.GRPCInferenceService/ModelInfer",
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    },
  },
  "RawInference",
);

describe(`malformed input: ${CASES.toLocaleString("en")} bad ModelInfer requests`, () => {
  const served = serveRepository(addDemoModel, { log_level: "silent" });
  let t: TestServer;
  before(() => {
    t = served.server;
  });
  let client: InstanceType<typeof RawClient>;
  before(() => {
    client = new RawClient(t.address, credentials.createInsecure());
  });
  after(() => client.close());

  test("every case gets a proper status with a message, the server stays up, its live heap stays flat", { timeout: 300_000 }, async (ctx) => {
    const random = seededRandom(20261123);
    const names = Object.keys(MUTATIONS);
    const seen: Record<string, Record<string, number>> = {};
    const wrong: string[] = [];
    const call = (c: ReturnType<Mutation>) =>
      new Promise<{ code: number; details: string }>((resolve) => {
        const options = c.deadline === undefined ? {} : { deadline: Date.now() + c.deadline };
        client.makeUnaryRequest(
          "/inference.GRPCInferenceService/ModelInfer",
          (b: Buffer) => b,
          (b: Buffer) => b,
          c.request,
          c.metadata ?? new Metadata(),
          options,
          (error: ServiceError | null) => resolve(error ? { code: error.code, details: error.details } : { code: status.OK, details: "" }),
        );
      });
    // The live heap is compared from the end of a warm-up (the first 2,000 cases), when caches have filled.
    let heapWarm = 0;
    let done = 0;
    const worker = async () => {
      while (done < CASES) {
        const index = done++;
        const name = names[index % names.length]!;
        const c = MUTATIONS[name]!(random);
        const { code, details } = await call(c);
        seen[name] ??= {};
        seen[name]![status[code]!] = (seen[name]![status[code]!] ?? 0) + 1;
        if (!c.expect.includes(code) || (code !== status.OK && details.trim() === "")) wrong.push(`${name}: ${status[code]} ${JSON.stringify(details)}`);
        if (index % 2000 === 0) await unary(t.client.serverLive, t.client, ServerLiveRequest.fromPartial({}));
        if (index === 2000) heapWarm = liveHeap();
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    const live = await unary(t.client.serverLive, t.client, ServerLiveRequest.fromPartial({}));
    assert.equal(live.live, true, "the server is up after the fuzzing");
    assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} cases got an improper answer`);
    for (const name of names)
      assert.ok(Object.values(seen[name] ?? {}).reduce((a, b) => a + b, 0) >= Math.floor(CASES / names.length), `${name} was exercised`);
    ctx.diagnostic(
      Object.entries(seen)
        .map(
          ([name, codes]) =>
            `${name}: ${Object.entries(codes)
              .map(([c, n]) => `${c} ${n}`)
              .join(", ")}`,
        )
        .join("; "),
    );
    const growthMb = (liveHeap() - heapWarm) / 2 ** 20;
    ctx.diagnostic(`live heap grew ${growthMb.toFixed(2)} MB over the last ${CASES - 2000} cases; RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`);
    assert.ok(growthMb < 8, `the live heap grew ${growthMb.toFixed(1)} MB over the last ${CASES - 2000} bad requests`);
  });
});
