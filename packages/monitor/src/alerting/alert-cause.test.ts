import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CAUSE_ANNOTATION, splitCause, withCause } from "./alert-cause.js";

describe("alert cause in stored annotations", () => {
  const cause = { metric: "burn_rate", op: ">", threshold: 14.4, windowStartMs: 1_000, windowEndMs: 3_601_000 };

  test("stored beside the annotations and split back out of them", () => {
    const stored = withCause({ summary: "burning" }, cause);
    assert.deepEqual(Object.keys(stored).sort(), [CAUSE_ANNOTATION, "summary"]);
    assert.deepEqual(splitCause(stored), { annotations: { summary: "burning" }, cause });
    assert.deepEqual(withCause({ summary: "x" }, undefined), { summary: "x" });
  });

  test("an alert recorded without a cause, or with an unreadable one, has none", () => {
    assert.deepEqual(splitCause({ summary: "old" }), { annotations: { summary: "old" }, cause: undefined });
    assert.deepEqual(splitCause({ [CAUSE_ANNOTATION]: "{not json" }), { annotations: {}, cause: undefined });
    assert.deepEqual(splitCause({ [CAUSE_ANNOTATION]: JSON.stringify({ metric: "m" }) }), { annotations: {}, cause: undefined });
  });
});
