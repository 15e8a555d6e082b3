import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Metadata, type ServiceError, credentials } from "@grpc/grpc-js";
import type { Command } from "commander";
import { readJsonObject } from "@vigil/config";
import { type ServerConfig, loadServerConfig } from "@vigil/inference";
import { MODEL_CONFIG_FILE, type RolloutPolicy, parseModelConfig } from "@vigil/model-repository";
import {
  type CatalogModel,
  type RolloutJudgement,
  type RolloutStatus,
  type VersionFigures,
  formatTable,
  judgeRollout,
  loadMonitorConfig,
  rolloutEventOf,
  rolloutStatus,
} from "@vigil/monitor";
import { GRPCInferenceServiceClient } from "@vigil/proto";
import { type StoreEngine, saveRolloutEvent } from "@vigil/store";
import type { CliEnv } from "../env.js";
import { repositoryModel, withToolStore } from "../tool-store.js";

const DEFAULT_SERVER = "127.0.0.1:8001";

/** The model's rollout as recorded, or an error saying the model has none to act on. */
async function requireRollout(engine: StoreEngine, model: CatalogModel): Promise<RolloutStatus> {
  const status = await rolloutStatus(engine, model.name, model.config.rollout);
  if (!status) throw new Error(`model ${model.name} has no rollout: its config.json names none and none is recorded`);
  return status;
}

/**
 * config.json with the candidate promoted: `rollout` removed and `version_policy` loading the
 * candidate alone, so it answers every request. Written to a temporary file beside it and
 * renamed over it, so a server polling the repository reads the old file or the new one, never
 * half of one. The rest of the file is kept as written.
 */
function promoteConfigFile(modelDir: string, candidate: number): Record<string, unknown> {
  const path = join(modelDir, MODEL_CONFIG_FILE);
  const { rollout: _, ...rest } = readJsonObject(path, "model config");
  const promoted = { ...rest, version_policy: { specific: [candidate] } };
  parseModelConfig(path, promoted);
  const temporary = `${path}.promote-${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(promoted, null, 2)}\n`);
  renameSync(temporary, path);
  return promoted;
}

/** Asks the server to load the model again from its repository (RepositoryModelLoad). */
function reloadModel(target: string, model: string, token: string | undefined): Promise<void> {
  const client = new GRPCInferenceServiceClient(target, credentials.createInsecure());
  const metadata = new Metadata();
  if (token) metadata.set("authorization", `Bearer ${token}`);
  return new Promise<void>((resolve, reject) => {
    client.repositoryModelLoad(
      { repositoryName: "", modelName: model, parameters: {} },
      metadata,
      { deadline: Date.now() + 60_000 },
      (error: ServiceError | null) => {
        client.close();
        if (error) reject(new Error(`the server at ${target} did not reload ${model}: ${error.details || error.message}`));
        else resolve();
      },
    );
  });
}

const fixed = (v: number | null | undefined, digits = 3) => (v === null || v === undefined || !Number.isFinite(v) ? "-" : v.toFixed(digits));

function versionRow(role: string, f: VersionFigures): string[] {
  return [
    role,
    f.version,
    f.rows.toLocaleString("en-US"),
    f.labelled.toLocaleString("en-US"),
    fixed(f.accuracy),
    fixed(f.errorRate, 4),
    fixed(f.latencyMs?.p50, 2),
    fixed(f.latencyMs?.p95, 2),
    fixed(f.latencyMs?.p99, 2),
  ];
}

/** The verdict sentence, then the versions' figures and the tests as tables. */
function formatRolloutStatus(status: RolloutStatus, judgement: RolloutJudgement | undefined): string {
  const head = `model ${status.model}: ${status.policy.mode} of version ${status.candidateVersion} against ${status.primaryVersion || "-"}, ${status.state.replace("_", " ")} (policy ${status.policyId})`;
  if (!judgement) return `${head}\nno server has applied this policy yet: nothing to judge`;
  const lines = [
    head,
    judgement.sentence,
    "",
    formatTable(
      [
        "role",
        "version",
        "rows",
        "labelled",
        "accuracy",
        "error rate",
        ...["p50", "p95", "p99"].map((q) => `${judgement.timing === "compute" ? "compute " : ""}${q} ms`),
      ],
      [versionRow("primary", judgement.primary), versionRow(status.policy.mode, judgement.candidate)],
    ),
  ];
  if (judgement.agreement) {
    const a = judgement.agreement;
    lines.push("", `agreement ${fixed(a.rate)} (95% CI ${fixed(a.interval[0])} to ${fixed(a.interval[1])}) over ${a.pairs.toLocaleString("en-US")} pairs`);
  }
  lines.push(
    "",
    formatTable(
      ["test", "statistic", "p-value", "alpha", "verdict"],
      judgement.tests.map((t) => [t.name, fixed(t.statistic, 3), t.pValue.toPrecision(3), t.alpha.toPrecision(3), t.verdict]),
    ),
    "",
    `look ${judgement.look}, rows from ${new Date(judgement.fromMs).toISOString()} to ${new Date(judgement.toMs).toISOString()}${status.decidedToMs === undefined ? "" : ` (as ${status.state === "promoted" ? "promoted" : "rolled back"})`}`,
  );
  return lines.join("\n");
}

interface StoreOptions {
  model: string;
  config?: string;
  models?: string;
}

export function registerRollout(program: Command, env: CliEnv): void {
  const serverConfig = (configFile: string | undefined): ServerConfig => loadServerConfig({ file: configFile, env: env.serverEnv });
  const modelOf = (config: ServerConfig, opts: StoreOptions) => repositoryModel(opts.models ?? config.model_repository, opts.model);
  const rollout = program.command("rollout").description("judge, promote or roll back a model's candidate version (config.json `rollout`)");

  rollout
    .command("status")
    .description("the candidate judged against the primary version since its rollout started")
    .requiredOption("-m, --model <name>", "model name")
    .option("--models <dir>", "model repository (default: the server config's)")
    .option("-c, --config <file>", "server config JSON (the store)")
    .option("--monitor-config <file>", "monitor config JSON: its step counts the looks")
    .option("--json", "print JSON")
    .action(async (opts: StoreOptions & { monitorConfig?: string; json?: boolean }) => {
      const config = serverConfig(opts.config);
      const model = modelOf(config, opts);
      const stepMs = loadMonitorConfig({ file: opts.monitorConfig }).step;
      await withToolStore(config, async (engine) => {
        const status = await requireRollout(engine, model);
        const judgement =
          status.startedMs === undefined
            ? undefined
            : await judgeRollout(
                engine,
                { ...status, startedMs: status.startedMs },
                { stepMs, asOfMs: Date.now(), classifier: model.config.classes !== undefined },
              );
        console.log(opts.json ? JSON.stringify({ status, judgement }, null, 2) : formatRolloutStatus(status, judgement));
      });
    });

  rollout
    .command("promote")
    .description("make the candidate the served version: rewrite config.json (rollout removed), record 'promoted', ask the server to reload")
    .requiredOption("-m, --model <name>", "model name")
    .option("--models <dir>", "model repository (default: the server config's)")
    .option("-c, --config <file>", "server config JSON (the store)")
    .option("--server <address>", "the inference server's gRPC address", DEFAULT_SERVER)
    .option("--no-reload", "leave reloading to the server (poll mode reads the new config.json by itself)")
    .action(async (opts: StoreOptions & { server: string; reload: boolean }) => {
      const config = serverConfig(opts.config);
      const model = modelOf(config, opts);
      const policy: RolloutPolicy | undefined = model.config.rollout;
      if (!policy) throw new Error(`model ${model.name} has no rollout in ${join(model.dir, MODEL_CONFIG_FILE)}: nothing to promote`);
      await withToolStore(config, async (engine) => {
        const status = await requireRollout(engine, model);
        promoteConfigFile(model.dir, policy.candidate);
        await saveRolloutEvent(
          engine,
          rolloutEventOf(status, { action: "promoted", actor: "cli", reason: `version ${policy.candidate} promoted by the command line` }),
        );
        console.log(`model ${model.name}: version ${policy.candidate} promoted; config.json now loads it alone and has no rollout`);
      });
      if (opts.reload) {
        await reloadModel(opts.server, model.name, env.VIGIL_GRPC_CLIENT_TOKEN);
        console.log(`server ${opts.server} reloaded ${model.name}`);
      }
    });

  rollout
    .command("rollback")
    .description("take the candidate out of traffic: record 'rolled_back' (the server sends every request to the primary)")
    .requiredOption("-m, --model <name>", "model name")
    .requiredOption("--reason <text>", "why, for the people on call")
    .option("--models <dir>", "model repository (default: the server config's)")
    .option("-c, --config <file>", "server config JSON (the store)")
    .action(async (opts: StoreOptions & { reason: string }) => {
      if (opts.reason.trim() === "") throw new Error("--reason must say why the candidate is rolled back");
      const config = serverConfig(opts.config);
      const model = modelOf(config, opts);
      await withToolStore(config, async (engine) => {
        const status = await requireRollout(engine, model);
        if (status.state === "promoted") throw new Error(`model ${model.name}: version ${status.candidateVersion} was already promoted; nothing to roll back`);
        await saveRolloutEvent(engine, rolloutEventOf(status, { action: "rolled_back", actor: "cli", reason: opts.reason }));
        console.log(`model ${model.name}: candidate version ${status.candidateVersion} rolled back (policy ${status.policyId})`);
      });
    });
}
