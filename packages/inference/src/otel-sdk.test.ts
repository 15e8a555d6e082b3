import assert from "node:assert/strict";
import { test } from "node:test";
import { ROOT_CONTEXT, SpanKind } from "@opentelemetry/api";
import { SamplingDecision } from "@opentelemetry/sdk-trace-base";
import { samplerFromEnv } from "./otel-sdk.js";

const decide = (env: NodeJS.ProcessEnv, traceId: string) => samplerFromEnv(env)?.shouldSample(ROOT_CONTEXT, traceId, "span", SpanKind.SERVER, {}, []).decision;

test("no OTEL_TRACES_SAMPLER leaves sampling to Vigil's settings", () => {
  assert.equal(samplerFromEnv({}), undefined);
});

test("OTEL_TRACES_SAMPLER and its argument build the sampler the specification names", () => {
  // OpenTelemetry JS's ratio sampler compares the XOR of the id's four 32-bit words with the ratio.
  const low = `${"0".repeat(31)}1`;
  const high = `${"f".repeat(8)}${"0".repeat(24)}`;
  assert.equal(decide({ OTEL_TRACES_SAMPLER: "always_off" }, low), SamplingDecision.NOT_RECORD);
  assert.equal(decide({ OTEL_TRACES_SAMPLER: "always_on" }, high), SamplingDecision.RECORD_AND_SAMPLED);
  assert.equal(decide({ OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.5" }, low), SamplingDecision.RECORD_AND_SAMPLED);
  assert.equal(decide({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.5" }, high), SamplingDecision.NOT_RECORD);
  assert.equal(decide({ OTEL_TRACES_SAMPLER: "TraceIdRatio", OTEL_TRACES_SAMPLER_ARG: "0" }, low), SamplingDecision.NOT_RECORD);
});

test("an unknown sampler is refused with the ones that exist", () => {
  assert.throws(() => samplerFromEnv({ OTEL_TRACES_SAMPLER: "jaeger_remote" }), /"jaeger_remote" is not supported; use always_on, always_off/);
});
