import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { loadServerConfig } from "./index.js";

describe("server config", () => {
  test("environment variables override defaults and are validated", () => {
    const config = loadServerConfig({ env: { VIGIL_GRPC_PORT: "9100", VIGIL_GRPC_TOKENS: "a, b ,", VIGIL_LOG_LEVEL: "debug" } });
    assert.equal(config.port, 9100);
    assert.deepEqual(config.auth_tokens, ["a", "b"]);
    assert.equal(config.log_level, "debug");
    assert.throws(() => loadServerConfig({ env: { VIGIL_GRPC_PORT: "eighty" } }), /- port: .*NaN/);
  });

  test('metrics_port "off" turns /metrics off in a config file as in the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-server-config-"));
    try {
      const file = join(dir, "server.json");
      writeFileSync(file, JSON.stringify({ metrics_port: "off" }));
      assert.equal(loadServerConfig({ file }).metrics_port, null);
      assert.equal(loadServerConfig({ env: { VIGIL_METRICS_PORT: "off" } }).metrics_port, null);
      assert.equal(loadServerConfig({}).metrics_port, 8002);
      writeFileSync(file, JSON.stringify({ metrics_port: "none" }));
      assert.throws(() => loadServerConfig({ file }), /metrics_port/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the model control mode and the poll interval come from the environment too, checked", () => {
    const config = loadServerConfig({ env: { VIGIL_MODEL_CONTROL_MODE: "poll", VIGIL_REPOSITORY_POLL_SECS: "5" } });
    assert.deepEqual([config.model_control_mode, config.repository_poll_secs], ["poll", 5]);
    assert.throws(() => loadServerConfig({ env: { VIGIL_MODEL_CONTROL_MODE: "watch" } }), /model_control_mode/);
  });

  test("overrides beat the environment; TLS needs both files", () => {
    assert.equal(loadServerConfig({ env: { VIGIL_GRPC_PORT: "9100" }, overrides: { port: 0 } }).port, 0);
    assert.throws(() => loadServerConfig({ env: { VIGIL_TLS_CERT_FILE: "cert.pem" } }), /- tls.key_file:/);
  });

  test("the old name of a variable still works, with a warning naming the new one", () => {
    const warnings: string[] = [];
    assert.deepEqual(loadServerConfig({ env: { VIGIL_AUTH_TOKENS: "a" }, onWarning: (w) => warnings.push(w) }).auth_tokens, ["a"]);
    assert.deepEqual(warnings, ["VIGIL_AUTH_TOKENS is deprecated; set VIGIL_GRPC_TOKENS instead"]);
  });
});
