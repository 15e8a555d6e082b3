import { join } from "node:path";
import { type Command, InvalidArgumentError, Option } from "commander";
import { SingleBar } from "cli-progress";
import { parseDuration, parseTime } from "@vigil/config";
import { type ServerConfig, loadServerConfig } from "@vigil/inference";
import { REFERENCE_FILE, versionDirectory } from "@vigil/model-repository";
import {
  type AlertingConfig,
  type MonitoredModel,
  type ReportKind,
  buildReport,
  describeSegment,
  ensureReconstruction,
  explainAccuracyChange,
  formatAccuracyChange,
  parseSegment,
  segmentRows,
  driftOptionsFor,
  ensureProfiles,
  formatReport,
  loadAlertingConfig,
  loadMonitorConfig,
  monitoredInputs,
  servedVersions,
  sloReport,
  sloReportCsv,
  sloReportMarkdown,
} from "@vigil/monitor";
import type { CliEnv } from "../env.js";
import { catalogModel, withToolStore } from "../tool-store.js";

type SloFormat = "md" | "json" | "csv";

const REPORT_KINDS = ["quality", "drift", "data_quality", "explain", "slo"] as const;

interface ReportOptions {
  model?: string;
  version?: string;
  from: string;
  to: string;
  window?: string;
  json?: boolean;
  config?: string;
  monitorConfig?: string;
  alertingConfig?: string;
  slo?: string;
  step: string;
  format: SloFormat;
  segment?: string;
  baselineFrom?: string;
  baselineTo?: string;
}

/** SLO reports for a period, in the chosen format, on stdout. */
async function reportSlos(
  config: ServerConfig,
  alerting: AlertingConfig,
  opts: { slo?: string; fromMs: number; toMs: number; stepMs: number; format: SloFormat },
): Promise<void> {
  const slos = opts.slo ? alerting.slos.filter((s) => s.name === opts.slo) : alerting.slos;
  if (slos.length === 0)
    throw new Error(
      opts.slo ? `no SLO named "${opts.slo}" (SLOs: ${alerting.slos.map((s) => s.name).join(", ") || "none"})` : "the alerting config names no SLOs",
    );
  if (!(opts.toMs > opts.fromMs)) throw new Error("the report's end must come after its start");
  await withToolStore(config, async (engine) => {
    const reports = [];
    for (const slo of slos) reports.push(await sloReport(engine, slo, opts.fromMs, opts.toMs, opts.stepMs));
    console.log(opts.format === "json" ? JSON.stringify(reports, null, 2) : opts.format === "csv" ? sloReportCsv(reports) : sloReportMarkdown(reports));
  });
}

/** Which categories of the model's inputs explain its change in accuracy from a baseline range to a current one. */
async function explainModel(config: ServerConfig, model: string, opts: ReportOptions): Promise<void> {
  if (!opts.baselineFrom || !opts.baselineTo) throw new Error("report explain needs --baseline-from and --baseline-to (the range before the change)");
  const catalogued = catalogModel(config, model);
  if (!catalogued.config.classes) throw new Error(`model ${model} is not a classifier (its config.json has no classes): accuracy cannot be explained`);
  const window = (from: string, to: string) => ({ fromUs: parseTime(from) * 1000, toUs: parseTime(to) * 1000 });
  await withToolStore(config, async (engine) => {
    const change = await explainAccuracyChange(engine, {
      model,
      version: opts.version,
      classes: catalogued.config.classes!,
      inputs: monitoredInputs(catalogued.config),
      baseline: window(opts.baselineFrom!, opts.baselineTo!),
      current: window(opts.from, opts.to),
    });
    console.log(opts.json ? JSON.stringify(change, null, 2) : formatAccuracyChange(change));
  });
}

/** Quality or drift of one model over a range, as tables or JSON on stdout. */
async function reportModel(config: ServerConfig, kind: ReportKind, model: string, opts: ReportOptions): Promise<void> {
  const monitorConfig = loadMonitorConfig({ file: opts.monitorConfig });
  const range = { fromMs: parseTime(opts.from), toMs: parseTime(opts.to), windowMs: opts.window ? parseDuration(opts.window) : undefined };
  const catalogued = catalogModel(config, model);
  await withToolStore(config, async (engine) => {
    let version = opts.version ?? "";
    // Drift and data quality judge inputs against one version's reference profiles.
    const judgesInputs = kind !== "quality";
    if (judgesInputs && version === "") {
      const served = (await servedVersions(engine, { fromUs: range.fromMs * 1000, toUs: range.toMs * 1000 })).filter((s) => s.model === model);
      if (served.length === 0)
        throw new Error(`model ${model} served no OK predictions between ${new Date(range.fromMs).toISOString()} and ${new Date(range.toMs).toISOString()}`);
      version = served.map((s) => s.version).sort((a, b) => Number(b) - Number(a))[0]!;
    }
    const inputs = monitoredInputs(catalogued.config);
    const profiles = judgesInputs
      ? await ensureProfiles(engine, {
          name: model,
          version,
          features: inputs,
          referenceFile: join(versionDirectory(catalogued.dir, version), REFERENCE_FILE),
        })
      : [];
    if (!profiles)
      throw new Error(
        `model ${model} version ${version} has no reference profile; build one with "vigil profile --model ${model} --version ${version} --file ..." or "--from ..."`,
      );
    const { datasetDriftShare, ...decisions } = driftOptionsFor(monitorConfig, model);
    const monitored: MonitoredModel = {
      name: model,
      version,
      classes: catalogued.config.classes,
      features: judgesInputs ? inputs : [],
      profiles,
      reconstruction:
        kind === "drift"
          ? await ensureReconstruction(engine, {
              name: model,
              version,
              features: inputs,
              referenceFile: join(versionDirectory(catalogued.dir, version), REFERENCE_FILE),
            })
          : undefined,
      decisions,
      datasetDriftShare,
    };
    const segment = opts.segment ? parseSegment(opts.segment) : undefined;
    const rows = segment ? segmentRows(segment, inputs) : undefined;
    const bar = process.stderr.isTTY
      ? new SingleBar({ format: "report [{bar}] {value}/{total} windows", hideCursor: true, stream: process.stderr })
      : undefined;
    const report = await buildReport(
      engine,
      monitored,
      kind,
      range,
      (done, total) => {
        if (done === 1) bar?.start(total, 0);
        bar?.update(done);
      },
      rows,
    );
    bar?.stop();
    const described = segment ? describeSegment(segment) : undefined;
    console.log(
      opts.json ? JSON.stringify({ kind, model, version, segment: described, windows: report }, null, 2) : formatReport(kind, monitored, report, described),
    );
  });
}

export function registerReport(program: Command, env: CliEnv): void {
  program
    .command("report")
    .description(
      "quality, drift or data quality of a model over a time range, optionally of one segment; which input categories explain a change in accuracy; or SLO attainment and error budget",
    )
    .argument("<kind>", "quality, drift, data_quality, explain or slo", (v: string) => {
      if (!(REPORT_KINDS as readonly string[]).includes(v)) throw new InvalidArgumentError(`report kind must be one of ${REPORT_KINDS.join(", ")}, got "${v}"`);
      return v as (typeof REPORT_KINDS)[number];
    })
    .option("--model <name>", "model name (every kind but slo)")
    .option("--version <version>", "model version (default: all versions for quality, the newest served in the range for drift)")
    .option("--from <time>", "start: ISO 8601, or a duration before now such as -24h", "-1h")
    .option("--to <time>", "end: ISO 8601, now, or -10m", "now")
    .option("--window <duration>", "split the range into windows of this length (e.g. 1h); one window when absent")
    .option("--segment <slice>", "quality, drift, data_quality: only rows of input=category, input=from..to or client=id")
    .option("--baseline-from <time>", "explain: start of the range before the change")
    .option("--baseline-to <time>", "explain: end of the range before the change")
    .option("--json", "print JSON instead of tables")
    .option("-c, --config <file>", "server config JSON (store and model repository)")
    .option("--monitor-config <file>", "monitor settings JSON (drift thresholds)")
    .option("--alerting-config <file>", "slo: the file naming the SLOs (alerting config)")
    .option("--slo <name>", "slo: one SLO (default: all)")
    .option("--step <duration>", "slo: length of the stretches ranked as worst", "1h")
    .addOption(new Option("--format <format>", "slo: output format").choices(["md", "json", "csv"]).default("md"))
    .action(async (kind: (typeof REPORT_KINDS)[number], opts: ReportOptions) => {
      const config = loadServerConfig({ file: opts.config, env: env.serverEnv });
      if (kind === "slo") {
        if (!opts.alertingConfig) throw new Error("report slo needs --alerting-config, the file that names the SLOs");
        await reportSlos(config, loadAlertingConfig(opts.alertingConfig), {
          ...opts,
          fromMs: parseTime(opts.from),
          toMs: parseTime(opts.to),
          stepMs: parseDuration(opts.step),
        });
        return;
      }
      if (!opts.model) throw new Error(`report ${kind} needs --model`);
      if (kind === "explain") await explainModel(config, opts.model, opts);
      else await reportModel(config, kind, opts.model, opts);
    });
}
