import { DATASET_DRIFT_SHARE, type MonitorResult, type ReferenceCalibration, type SegmentFilter, type StoreEngine, saveMonitorResults } from "@vigil/store";
import { Counter, Gauge, type Registry } from "prom-client";
import { type DecisionOptions, datasetDrift, decideDrift } from "./decision.js";
import { estimatePerformance, estimationErrors, estimationResults } from "./cbpe-estimate.js";
import { dataQuality, dataQualityResults } from "./data-quality.js";
import { featureDrift } from "./drift.js";
import type { FeatureProfile, FeatureSpec } from "./profiles.js";
import { RECONSTRUCTION_ERROR, type ReconstructionFit, reconstructionDrift } from "./multivariate.js";
import { PeriodicTask } from "./periodic.js";
import { classificationQuality, regressionQuality } from "./quality.js";
import { qualityResults, regressionResults } from "./results.js";
import type { Window } from "./window.js";

/** The versions that served traffic in a window: what a ModelSource typically evaluates. */
export { servedVersions } from "@vigil/store";

/** What the monitor watches for one model. */
export interface MonitoredModel {
  name: string;
  /** '' watches every version together. */
  version: string;
  /** Class names of a classifier; absent for a regression model. */
  classes?: string[];
  /** Inputs judged for drift; each needs a profile. */
  features: FeatureSpec[];
  profiles: FeatureProfile[];
  /** Multivariate drift: the reconstruction-error model fitted on the version's reference, when there is one. */
  reconstruction?: ReconstructionFit;
  /** Performance estimation (CBPE): the calibration fitted on the version's labelled reference, when there is one. */
  calibration?: ReferenceCalibration;
  decisions?: DecisionOptions;
  datasetDriftShare?: number;
}

/** Quality and drift of one model over one window, as result rows (not yet saved). */
export async function evaluateWindow(engine: StoreEngine, model: MonitoredModel, window: Window, segment?: SegmentFilter): Promise<MonitorResult[]> {
  // Every figure can be asked of a slice of the rows.
  const slice = segment ? { segment } : {};
  const inputsScope = { model: model.name, version: model.version, window, features: model.features, profiles: model.profiles, ...slice };
  const results: MonitorResult[] = [];
  if (model.classes) {
    const realized = qualityResults(
      await classificationQuality(engine, { model: model.name, version: model.version, classes: model.classes, window, ...slice }),
      model.name,
      model.version,
    );
    results.push(...realized);
    if (model.calibration) {
      const estimate = await estimatePerformance(engine, { model: model.name, version: model.version, window, calibration: model.calibration, ...slice });
      const estimated = estimationResults(estimate, model.name, model.version);
      results.push(...estimated, ...estimationErrors(estimated, realized));
    }
  } else {
    results.push(
      ...regressionResults(await regressionQuality(engine, { model: model.name, version: model.version, window, ...slice }), model.name, model.version),
    );
  }
  if (model.features.length > 0) {
    const drift = await featureDrift(engine, inputsScope);
    const decisions = drift.map((d) => decideDrift(model.profiles.find((p) => p.feature === d.feature)!, d, model.decisions));
    decisions.forEach((decision, i) => {
      const d = drift[i]!;
      if (!Number.isFinite(decision.score)) return;
      results.push({
        window,
        model: model.name,
        version: model.version,
        kind: "drift",
        metric: decision.method,
        feature: decision.feature,
        value: decision.score,
        threshold: decision.threshold,
        breached: decision.drifted,
        details: {
          psi: d.psi,
          jensen_shannon: d.jensenShannon,
          chi_square: d.chiSquare,
          kolmogorov_smirnov: d.kolmogorovSmirnov,
          wasserstein: d.wasserstein,
          current_rows: d.currentCounts.reduce((a, b) => a + b, 0),
          // Kept so the window's histogram can be shown later without reading its rows again.
          current_counts: d.currentCounts,
        },
      });
    });
    const dataset = datasetDrift(decisions, model.datasetDriftShare);
    if (decisions.some((d) => Number.isFinite(d.score))) {
      results.push({
        window,
        model: model.name,
        version: model.version,
        kind: "drift",
        metric: DATASET_DRIFT_SHARE,
        feature: "",
        value: dataset.share,
        threshold: dataset.threshold,
        breached: dataset.drifted,
        details: {},
      });
    }
  }
  const quality = await dataQuality(engine, inputsScope);
  results.push(...dataQualityResults(quality, window, model.name, model.version));
  const reconstruction =
    model.reconstruction && (await reconstructionDrift(engine, model.reconstruction, { model: model.name, version: model.version, window, ...slice }));
  if (reconstruction) {
    results.push({
      window,
      model: model.name,
      version: model.version,
      kind: "drift",
      metric: RECONSTRUCTION_ERROR,
      feature: "",
      value: reconstruction.meanError,
      threshold: reconstruction.upper,
      breached: reconstruction.drifted,
      details: {
        rows: reconstruction.rows,
        lower: reconstruction.lower,
        upper: reconstruction.upper,
        sampling_error: reconstruction.samplingError,
        reference_mean_error: model.reconstruction!.referenceMeanError,
        components: model.reconstruction!.components.length,
        inputs: model.reconstruction!.features,
      },
    });
  }
  return results;
}

export interface MonitorHealth {
  runs: number;
  failures: number;
  lastWindow: Window | undefined;
  lastSuccessAt: number | undefined;
  lastError: string | undefined;
  lastDurationMs: number | undefined;
}

export interface MonitorJobOptions {
  /** Window length. */
  windowMs: number;
  /** How often a window is evaluated; windows end on multiples of it. */
  everyMs: number;
  /** Time left for late rows (labels especially) before a window is evaluated. */
  lagMs?: number;
  onError?: (error: Error) => void;
  /** Where the job's own Prometheus metrics go (vigil_monitor_*), when given. */
  registry?: Registry;
  /** Called with every successful run's results. */
  onResults?: (window: Window, results: MonitorResult[]) => void;
  /** Judges the rollouts under way at a window's end (rolloutJudge); its results are saved with the window's. */
  rollouts?: (window: Window) => Promise<MonitorResult[]>;
}

/** The models to evaluate over a window (typically: those that served traffic in it). */
export type ModelSource = (window: Window) => Promise<MonitoredModel[]> | MonitoredModel[];

/** How many closed windows one tick may catch up on after the job fell behind (a stalled host, a long outage). */
const MAX_CATCH_UP_WINDOWS = 60;
/** Ticks come at least this often, so a window is evaluated soon after its lag has passed. */
const MAX_TICK_MS = 10_000;

/**
 * Evaluates every monitored model on a cadence: each window ending on a multiple of `everyMs`,
 * once now − lag has passed its end. Windows are aligned, and results replace earlier ones for
 * the same window, so a re-run (or a second monitor process) gives one set of rows per window.
 * A tick evaluates every window closed since the last one it finished, so timer drift, a slow
 * run or a failed one never leaves a window out.
 */
export class MonitorJob {
  private readonly schedule: PeriodicTask;
  /** End (ms) of the newest window a tick evaluated; ticks go on from there. */
  private lastTickedEndMs: number | undefined;
  private readonly state: MonitorHealth = {
    runs: 0,
    failures: 0,
    lastWindow: undefined,
    lastSuccessAt: undefined,
    lastError: undefined,
    lastDurationMs: undefined,
  };

  private readonly metrics: { runs: Counter; failures: Counter; lastSuccess: Gauge; lastDuration: Gauge; results: Gauge } | undefined;

  constructor(
    private readonly engine: StoreEngine,
    private readonly models: ModelSource,
    private readonly options: MonitorJobOptions,
  ) {
    this.schedule = new PeriodicTask(
      () => this.tick(),
      Math.min(options.everyMs, MAX_TICK_MS),
      (error) => options.onError?.(error),
    );
    const registers = options.registry ? [options.registry] : undefined;
    this.metrics = registers && {
      runs: new Counter({ name: "vigil_monitor_runs_total", help: "Monitor window evaluations started", registers }),
      failures: new Counter({ name: "vigil_monitor_failures_total", help: "Monitor window evaluations that failed", registers }),
      lastSuccess: new Gauge({
        name: "vigil_monitor_last_success_timestamp_seconds",
        help: "When the last evaluation succeeded (alert when it falls behind)",
        registers,
      }),
      lastDuration: new Gauge({ name: "vigil_monitor_last_duration_seconds", help: "How long the last successful evaluation took", registers }),
      results: new Gauge({ name: "vigil_monitor_last_results", help: "Result rows the last successful evaluation wrote", registers }),
    };
  }

  health(): MonitorHealth {
    return { ...this.state };
  }

  /** The window a run at `nowMs` evaluates. */
  windowAt(nowMs: number): Window {
    const end = Math.floor((nowMs - (this.options.lagMs ?? 0)) / this.options.everyMs) * this.options.everyMs;
    return { fromUs: (end - this.options.windowMs) * 1000, toUs: end * 1000 };
  }

  /** The windows closed at `nowMs` that no tick has evaluated yet, oldest first. */
  dueWindows(nowMs: number): Window[] {
    const { everyMs, windowMs } = this.options;
    const latestEndMs = this.windowAt(nowMs).toUs / 1000;
    const firstEndMs =
      this.lastTickedEndMs === undefined ? latestEndMs : Math.max(this.lastTickedEndMs + everyMs, latestEndMs - (MAX_CATCH_UP_WINDOWS - 1) * everyMs);
    const due: Window[] = [];
    for (let end = firstEndMs; end <= latestEndMs; end += everyMs) due.push({ fromUs: (end - windowMs) * 1000, toUs: end * 1000 });
    return due;
  }

  /** Evaluates the due windows in order; a failure stops the tick and its window is tried again on the next. */
  async tick(nowMs = Date.now()): Promise<void> {
    for (const window of this.dueWindows(nowMs)) {
      await this.runOnce(window);
      this.lastTickedEndMs = window.toUs / 1000;
    }
  }

  /** Evaluates one window for every model and saves the results. */
  async runOnce(window = this.windowAt(Date.now())): Promise<MonitorResult[]> {
    const started = Date.now();
    this.state.runs++;
    this.metrics?.runs.inc();
    try {
      const all: MonitorResult[] = [];
      for (const model of await this.models(window)) all.push(...(await evaluateWindow(this.engine, model, window)));
      if (this.options.rollouts) all.push(...(await this.options.rollouts(window)));
      await saveMonitorResults(this.engine, all);
      Object.assign(this.state, { lastWindow: window, lastSuccessAt: Date.now(), lastError: undefined, lastDurationMs: Date.now() - started });
      this.metrics?.lastSuccess.set(Date.now() / 1000);
      this.metrics?.lastDuration.set((Date.now() - started) / 1000);
      this.metrics?.results.set(all.length);
      this.options.onResults?.(window, all);
      return all;
    } catch (error) {
      this.state.failures++;
      this.metrics?.failures.inc();
      this.state.lastError = (error as Error).message;
      throw error;
    }
  }

  start(): void {
    this.schedule.start();
  }

  async stop(): Promise<void> {
    await this.schedule.stop();
  }
}
