import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import { ModelInferRequest } from "@vigil/proto";
import { rejection, unary } from "./support/grpc.js";
import {
  addDemoModel,
  fixedModelConfig,
  fixedModelOnnx,
  textModelConfig,
  textModelOnnx,
  typedModelConfig,
  typedModelOnnx,
  writeModel,
} from "./support/models.js";
import { outputValues } from "./support/outputs.js";
import { bytesOf, contentsRequest, rawRequest } from "./support/requests.js";
import { serveRepository } from "./support/server.js";

/** Each malformed request, the status it must get, and what the message must say. */
describe("request validation: every bad input gets the right status and an actionable message", () => {
  const served = serveRepository(
    async (repository) => {
      await addDemoModel(repository);
      await writeModel(repository, "typed", 1, typedModelOnnx(), typedModelConfig());
      await writeModel(repository, "text", 1, textModelOnnx(), textModelConfig);
      await writeModel(repository, "fixed", 1, fixedModelOnnx(), fixedModelConfig);
    },
    { max_message_bytes: 64 * 1024 },
  );

  const infer = (request: ModelInferRequest) => unary(served.server.client.modelInfer, served.server.client, request);
  const expectError = async (request: ModelInferRequest, code: status, message: RegExp) => {
    const err = await rejection(infer(request));
    assert.equal(err.code, code, `status for: ${err.details}`);
    assert.match(err.details, message);
  };
  const features = (shape: number[], fp32Contents: number[]) =>
    contentsRequest("flights", [{ name: "features", datatype: "FP32", shape, contents: { fp32Contents } }]);
  const row = [12, 3, 500, 1, 2];

  test("unknown model: NOT_FOUND naming the loaded models", () =>
    expectError(contentsRequest("flightz", []), status.NOT_FOUND, /model "flightz" is not in the repository \(loaded models: fixed, flights, text, typed\)/));

  test("unknown version: NOT_FOUND; malformed version: INVALID_ARGUMENT", async () => {
    await expectError({ ...features([1, 5], row), modelVersion: "9" }, status.NOT_FOUND, /no version 9 loaded \(loaded: 1\)/);
    await expectError({ ...features([1, 5], row), modelVersion: "v1" }, status.INVALID_ARGUMENT, /version "v1" is not a positive integer/);
  });

  test("no inputs", () =>
    expectError(contentsRequest("flights", []), status.INVALID_ARGUMENT, /request has no inputs; model "flights" expects features \(FP32 \[-1,5\]\)/));

  test("unknown input name", () =>
    expectError(
      contentsRequest("flights", [{ name: "feature", datatype: "FP32", shape: [1, 5], contents: { fp32Contents: row } }]),
      status.INVALID_ARGUMENT,
      /unknown input "feature" for model "flights"; it expects features \(FP32 \[-1,5\]\)/,
    ));

  test("missing input", () =>
    expectError(
      contentsRequest("typed", [{ name: "x", datatype: "FP32", shape: [1, 3], contents: { fp32Contents: [1, 2, 3] } }]),
      status.INVALID_ARGUMENT,
      /missing input k \(INT64 \[-1,2\]\) for model "typed"/,
    ));

  test("duplicate input", () =>
    expectError(
      contentsRequest("flights", [
        { name: "features", datatype: "FP32", shape: [1, 5], contents: { fp32Contents: row } },
        { name: "features", datatype: "FP32", shape: [1, 5], contents: { fp32Contents: row } },
      ]),
      status.INVALID_ARGUMENT,
      /input "features" appears more than once/,
    ));

  test("wrong datatype, and a datatype that does not exist", async () => {
    await expectError(
      contentsRequest("flights", [{ name: "features", datatype: "FP64", shape: [1, 5], contents: { fp64Contents: row } }]),
      status.INVALID_ARGUMENT,
      /input "features" has datatype FP64 but model "flights" expects FP32/,
    );
    await expectError(
      contentsRequest("flights", [{ name: "features", datatype: "FLOAT", shape: [1, 5] }]),
      status.INVALID_ARGUMENT,
      /unknown datatype "FLOAT"; model "flights" expects FP32/,
    );
  });

  test("shape: wrong rank, wrong fixed dimension, negative dimension, huge dimension", async () => {
    await expectError(features([5], row), status.INVALID_ARGUMENT, /shape \[5\] but the model expects \[-1,5\] \(rank 2\)/);
    await expectError(features([1, 4], row.slice(0, 4)), status.INVALID_ARGUMENT, /shape \[1,4\] but the model expects \[-1,5\] \(dimension 1 must be 5\)/);
    await expectError(features([-1, 5], row), status.INVALID_ARGUMENT, /negative dimension -1 at index 0/);
    await expectError(features([1, 5_000_000_000], row), status.INVALID_ARGUMENT, /dimension 5000000000 at index 1, larger than 2147483647/);
  });

  test("batch size over max_batch_size, and zero", async () => {
    await expectError(features([300, 5], []), status.INVALID_ARGUMENT, /batch size 300, over the model's max_batch_size 256; split the request/);
    await expectError(features([0, 5], []), status.INVALID_ARGUMENT, /batch size 0; send at least one row/);
  });

  test("inputs that disagree on batch size", () =>
    expectError(
      contentsRequest("typed", [
        { name: "x", datatype: "FP32", shape: [2, 3], contents: { fp32Contents: [1, 2, 3, 4, 5, 6] } },
        { name: "k", datatype: "INT64", shape: [1, 2], contents: { int64Contents: [1n, 2n] } },
      ]),
      status.INVALID_ARGUMENT,
      /inputs disagree on batch size: "x" has 2, "k" has 1/,
    ));

  test("element count not matching the data, in contents", () =>
    expectError(features([2, 5], row), status.INVALID_ARGUMENT, /contents.fp32Contents has 5 elements but shape \[2,5\] needs 10/));

  test("data in the wrong contents field", () =>
    expectError(
      contentsRequest("flights", [{ name: "features", datatype: "FP32", shape: [1, 5], contents: { fp64Contents: row } }]),
      status.INVALID_ARGUMENT,
      /FP32 data must be in contents.fp32Contents, not contents.fp64Contents/,
    ));

  test("raw form: length not matching shape x element size", () =>
    expectError(
      rawRequest("flights", [{ name: "features", datatype: "FP32", shape: [1, 5], bytes: new Uint8Array(16) }]),
      status.INVALID_ARGUMENT,
      /raw_input_contents has 16 bytes but shape \[1,5\] of FP32 needs 20 \(5 x 4\)/,
    ));

  test("raw form: entry count not matching the inputs", () =>
    expectError(
      ModelInferRequest.fromPartial({
        modelName: "flights",
        inputs: [{ name: "features", datatype: "FP32", shape: [1n, 5n] }],
        rawInputContents: [Buffer.alloc(20), Buffer.alloc(20)],
      }),
      status.INVALID_ARGUMENT,
      /raw_input_contents has 2 entries but the request has 1 inputs/,
    ));

  test("raw form and contents mixed", () =>
    expectError(
      ModelInferRequest.fromPartial({
        modelName: "flights",
        inputs: [{ name: "features", datatype: "FP32", shape: [1n, 5n], contents: { fp32Contents: row } }],
        rawInputContents: [bytesOf(Float32Array.from(row))],
      }),
      status.INVALID_ARGUMENT,
      /sets contents but the request also uses raw_input_contents/,
    ));

  test("BYTES: a valid string tensor round-trips in both forms", async () => {
    const words = ["héllo", ""];
    const viaContents = await infer(
      contentsRequest("text", [{ name: "text", datatype: "BYTES", shape: [2, 1], contents: { bytesContents: words.map((w) => Buffer.from(w)) } }]),
    );
    assert.deepEqual(outputValues(viaContents, "echo"), words);
    const raw = Buffer.concat(
      words.flatMap((w) => {
        const body = Buffer.from(w);
        const length = Buffer.alloc(4);
        length.writeUInt32LE(body.length);
        return [length, body];
      }),
    );
    const viaRaw = await infer(rawRequest("text", [{ name: "text", datatype: "BYTES", shape: [2, 1], bytes: raw }]));
    assert.deepEqual(Buffer.from(viaRaw.rawOutputContents[0]!), raw);
  });

  test("BYTES malformed: truncated length prefix, length past the end, wrong count, invalid UTF-8", async () => {
    const send = (bytes: Uint8Array, rows = 1) => rawRequest("text", [{ name: "text", datatype: "BYTES", shape: [rows, 1], bytes }]);
    await expectError(send(Uint8Array.from([1, 0])), status.INVALID_ARGUMENT, /BYTES element 0 has a truncated 4-byte length prefix/);
    await expectError(send(Uint8Array.from([9, 0, 0, 0, 65])), status.INVALID_ARGUMENT, /BYTES element 0 declares 9 bytes but only 1 remain/);
    await expectError(send(Uint8Array.from([1, 0, 0, 0, 65]), 2), status.INVALID_ARGUMENT, /raw BYTES data holds 1 elements, the shape needs 2/);
    await expectError(send(Uint8Array.from([2, 0, 0, 0, 0xc3, 0x28])), status.INVALID_ARGUMENT, /BYTES element 0 is not valid UTF-8/);
    await expectError(
      contentsRequest("text", [{ name: "text", datatype: "BYTES", shape: [1, 1], contents: { bytesContents: [Buffer.from([0xff])] } }]),
      status.INVALID_ARGUMENT,
      /BYTES element 0 is not valid UTF-8/,
    );
  });

  test("a model without a batch dimension takes its fixed shape and refuses others", async () => {
    const ok = await infer(contentsRequest("fixed", [{ name: "v", datatype: "FP64", shape: [4], contents: { fp64Contents: [1, -2, 3.5, 0] } }]));
    assert.deepEqual(outputValues(ok, "v_neg"), [-1, 2, -3.5, -0]);
    await expectError(
      contentsRequest("fixed", [{ name: "v", datatype: "FP64", shape: [1, 4] }]),
      status.INVALID_ARGUMENT,
      /shape \[1,4\] but the model expects \[4\] \(rank 1\)/,
    );
  });

  test("oversized message: RESOURCE_EXHAUSTED before the server reads it", async () => {
    const big = new Float32Array(256 * 5 * 20);
    const err = await rejection(infer(rawRequest("flights", [{ name: "features", datatype: "FP32", shape: [256, 5], bytes: bytesOf(big) }])));
    assert.equal(err.code, status.RESOURCE_EXHAUSTED);
    assert.match(err.details, /larger than max/i);
  });

  test("the server stays healthy after all of the above", async () => {
    const ok = await infer(features([1, 5], row));
    assert.equal(outputValues(ok, "probabilities").length, 2);
  });
});
