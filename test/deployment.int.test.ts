import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { cliEnvSchema } from "@vigil/cli";
import { loadServerConfig, serverConfigSchema } from "@vigil/inference";
import { parseAlertingConfig } from "@vigil/monitor";
import { parseAllDocuments } from "yaml";
import type { ProcessOwner } from "./support/processes.js";
import { startProcess } from "./support/processes.js";
import { VIGIL_MAIN } from "./support/vigil.js";

const ROOT = join(import.meta.dirname, "..");
const KUBERNETES = join(ROOT, "deploy", "kubernetes");

/** The parts of Kubernetes objects these checks read. */
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}
interface Probe {
  grpc?: { port: number };
  httpGet?: { path: string; port: number };
}
interface Container {
  name: string;
  args: string[];
  ports?: Array<{ name: string; containerPort: number }>;
  env?: EnvVar[];
  envFrom?: Array<{ configMapRef?: { name: string } }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
}
interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: {
    replicas?: number;
    template?: { spec: { containers: Container[]; volumes?: Array<{ name: string; configMap?: { name: string } }> } };
    ports?: Array<{ name: string; port: number; targetPort: string | number }>;
  };
}

async function manifests(): Promise<KubeObject[]> {
  const objects: KubeObject[] = [];
  for (const file of (await readdir(KUBERNETES)).filter((f) => f.endsWith(".yaml"))) {
    for (const doc of parseAllDocuments(await readFile(join(KUBERNETES, file), "utf8"))) {
      assert.deepEqual(doc.errors, [], `${file} parses`);
      const object = doc.toJS() as KubeObject;
      assert.ok(object.apiVersion && object.kind && object.metadata?.name, `${file}: every object has apiVersion, kind and a name`);
      objects.push(object);
    }
  }
  return objects;
}

/** `vigil <command> --help`, as the image would run it. */
async function help(command: string, owner: ProcessOwner): Promise<string> {
  const { child, exited } = startProcess(process.execPath, ["--import", "tsx", VIGIL_MAIN, command, "--help"], { stdio: ["ignore", "pipe", "inherit"], owner });
  const chunks: Buffer[] = [];
  child.stdout!.on("data", (c: Buffer) => chunks.push(c));
  assert.equal(await exited, 0, `vigil ${command} --help`);
  return Buffer.concat(chunks).toString("utf8");
}

/** The command and every --flag of an argument list are ones `vigil` accepts. */
async function assertRunnable(args: string[], owner: ProcessOwner): Promise<string> {
  const [command, ...rest] = args;
  const text = await help(command!, owner);
  for (const flag of rest.filter((a) => a.startsWith("--"))) assert.match(text, new RegExp(`\\s${flag}\\b`), `vigil ${command} takes ${flag}`);
  return text;
}

const deployment = (objects: KubeObject[], name: string) => {
  const found = objects.find((o) => o.kind === "Deployment" && o.metadata.name === name);
  assert.ok(found, `a Deployment named ${name}`);
  return found.spec!.template!.spec;
};
const portOf = (c: Container, name: string) => c.ports?.find((p) => p.name === name)?.containerPort;

/**
 * What deploy/ can be checked against without Docker or a cluster: the manifests parse, every
 * command, flag, port, probe and environment variable they name is one Vigil has, and the image
 * is multi-stage, non-root and runs a real `vigil` command (docs/deployment.md).
 */
describe("deploy/: the image and the Kubernetes manifests", () => {
  test("manifests: the commands, ports, probes and variables exist in Vigil", { timeout: 120_000 }, async (ctx) => {
    const objects = await manifests();
    const defaults = serverConfigSchema.parse({});
    const configMaps = new Map(objects.filter((o) => o.kind === "ConfigMap").map((o) => [o.metadata.name, o.data ?? {}]));

    const serve = deployment(objects, "vigil-serve");
    const [server] = serve.containers;
    assert.ok(server);
    assert.equal(server.args[0], "serve");
    await assertRunnable(server.args, ctx);
    assert.equal(portOf(server, "grpc"), defaults.port, "the gRPC port is the server's default");
    assert.equal(portOf(server, "metrics"), defaults.metrics_port, "/metrics is on the server's default metrics port");
    for (const probe of [server.readinessProbe, server.livenessProbe])
      assert.equal(probe?.grpc?.port, defaults.port, "probed with grpc.health.v1 on the gRPC port");

    const monitors = objects.find((o) => o.kind === "Deployment" && o.metadata.name === "vigil-monitor");
    assert.equal(monitors?.spec?.replicas, 2, "two monitors, one evaluating under the lease");
    const [monitor] = deployment(objects, "vigil-monitor").containers;
    assert.ok(monitor);
    assert.equal(monitor.args[0], "monitor");
    const monitorHelp = await assertRunnable(monitor.args, ctx);
    const apiPort = Number(/--api-port <port>[\s\S]*?\(default: (\d+)\)/.exec(monitorHelp)?.[1]);
    assert.equal(portOf(monitor, "api"), apiPort, "the API port is the monitor's default");
    const healthRoute = await readFile(join(ROOT, "packages", "monitor", "src", "api", "routes", "overview.ts"), "utf8");
    for (const probe of [monitor.readinessProbe, monitor.livenessProbe]) {
      assert.equal(probe?.httpGet?.port, apiPort);
      assert.ok(healthRoute.includes(`url: "${probe?.httpGet?.path}"`), `the monitor API has ${probe?.httpGet?.path}`);
    }

    // Variables: Vigil's own (the CLI's schema, which includes the server's), or the ones the alerting file names.
    const alertingText = configMaps.get("vigil-alerting")?.["alerting.yaml"];
    assert.ok(alertingText, "the alerting file is in a ConfigMap");
    const alertingRaw = parseAllDocuments(alertingText)[0]!.toJS() as { receivers: Array<{ webhook?: { secret_env?: string } }> };
    const secretEnvs = alertingRaw.receivers.flatMap((r) => r.webhook?.secret_env ?? []);
    const known = new Set([...Object.keys(cliEnvSchema.shape), ...secretEnvs]);
    for (const container of [server, monitor]) {
      for (const from of container.envFrom ?? []) {
        const data = configMaps.get(from.configMapRef?.name ?? "");
        assert.ok(data, `${container.name}: ConfigMap ${from.configMapRef?.name} is defined`);
        for (const name of Object.keys(data)) assert.ok(known.has(name), `${container.name}: ${name} is a variable Vigil reads`);
      }
      for (const v of container.env ?? []) assert.ok(known.has(v.name), `${container.name}: ${v.name} is a variable Vigil reads`);
    }
    const env = { ...configMaps.get("vigil-env"), VIGIL_CLICKHOUSE_URL: "http://vigil:secret@clickhouse:8123/vigil", VIGIL_WEBHOOK_SECRET: "key" };
    assert.doesNotThrow(() => cliEnvSchema.parse(env), "the ConfigMap's values pass the CLI's checks");
    assert.doesNotThrow(() => loadServerConfig({ env }), "and the server config's");
    assert.doesNotThrow(() => parseAlertingConfig(alertingRaw, "vigil-alerting", ROOT, env), "the alerting file is valid");

    // Every Service points at named ports the pods expose.
    for (const service of objects.filter((o) => o.kind === "Service")) {
      const pods = deployment(objects, service.metadata.name).containers;
      for (const port of service.spec!.ports!)
        assert.ok(
          pods.some((c) => c.ports?.some((p) => p.name === port.targetPort)),
          `${service.metadata.name}: target port ${port.targetPort} exists`,
        );
    }
    for (const volume of deployment(objects, "vigil-monitor").volumes ?? []) {
      if (volume.configMap) assert.ok(configMaps.has(volume.configMap.name), `ConfigMap ${volume.configMap.name} is defined`);
    }
  });

  test("Dockerfile: multi-stage, non-root, runs a real vigil command", { timeout: 60_000 }, async (ctx) => {
    const text = await readFile(join(ROOT, "deploy", "Dockerfile"), "utf8");
    const instructions = text.split("\n").filter((l) => /^[A-Z]+ /.test(l));
    assert.ok(instructions.filter((l) => l.startsWith("FROM ")).length >= 2, "multi-stage");
    const user = instructions
      .filter((l) => l.startsWith("USER "))
      .at(-1)
      ?.slice(5)
      .trim();
    assert.ok(user && user !== "root" && user !== "0", `runs as a non-root user (${user})`);
    const json = (instruction: string) => JSON.parse(instructions.find((l) => l.startsWith(`${instruction} `))!.slice(instruction.length + 1)) as string[];
    const entrypoint = json("ENTRYPOINT");
    assert.deepEqual(entrypoint.slice(0, 1), ["node"]);
    assert.ok(existsSync(join(ROOT, entrypoint[1]!)), `${entrypoint[1]} exists`);
    await assertRunnable(json("CMD"), ctx);
    const exposed = instructions.filter((l) => l.startsWith("EXPOSE ")).flatMap((l) => l.slice(7).trim().split(/\s+/).map(Number));
    const defaults = serverConfigSchema.parse({});
    for (const port of [defaults.port, defaults.metrics_port]) assert.ok(exposed.includes(port!), `exposes ${port}`);
  });
});
