import { Link } from "@/components/link";
import type { HistogramsResponse, ModelResultsResponse, ResultPoint } from "@vigil/monitor";
import { DriftHistogram } from "@/components/drift-histogram";
import { DriftBadge } from "@/components/drift-verdict";
import styles from "@/components/drift.module.css";
import { ScrollIntoView } from "@/components/scroll-into-view";
import { TimeChart } from "@/components/time-chart";
import { VersionPicker } from "@/components/version-picker";
import { ApiError, api } from "@/lib/api";
import { type MonitorWindow, byDriftSeverity, driftFigures, windowEndLabels, windowsOf } from "@/lib/drift";
import { apiOrNotFound, chosenVersion, repositoryModel } from "@/lib/models";
import { BadRangeError, type Search, absoluteRange, fixed, keep, percent, rangeBounds, rangeQuery } from "@/lib/range";

type Params = { params: Promise<{ model: string }>; searchParams: Promise<Search> };

export async function generateMetadata({ params }: Params) {
  return { title: `Drift of ${decodeURIComponent((await params).model)} · Vigil` };
}

const DATASET_DRIFT_SHARE = "dataset_drift_share";
const RECONSTRUCTION_ERROR = "reconstruction_error";

/** The window the URL names (`window=<window end>`), or the newest; a window the range lacks is said, not silently replaced. */
function selectWindow(windows: MonitorWindow[], asked: string | string[] | undefined): { selected: MonitorWindow | undefined; notice?: string } {
  if (typeof asked !== "string") return { selected: windows.at(-1) };
  const askedMs = Date.parse(asked);
  if (!Number.isFinite(askedMs)) throw new BadRangeError(`window "${asked}" is not a window's end such as 2026-11-30T14:00:00Z`);
  const found = windows.find((w) => Date.parse(w.end) === askedMs);
  if (found) return { selected: found };
  return {
    selected: windows.at(-1),
    notice: `No monitor window ends at ${new Date(askedMs).toISOString()} in the chosen range; widen the range to see it. Showing the newest window instead.`,
  };
}

export default async function DriftPage({ params, searchParams }: Params) {
  const name = decodeURIComponent((await params).model);
  const search = await searchParams;
  const model = await repositoryModel(name);
  const version = chosenVersion(model, search);
  const path = `/api/v1/models/${encodeURIComponent(name)}`;
  const scope = `${rangeQuery(search)}&version=${encodeURIComponent(version)}`;
  const [drift, dataQuality] = await Promise.all([
    apiOrNotFound<ModelResultsResponse>(`${path}/drift?${scope}`),
    apiOrNotFound<ModelResultsResponse>(`${path}/data-quality?${scope}`),
  ]);
  const { fromMs, toMs } = rangeBounds(search);
  const hasReference = model.versions.find((v) => v.version === version)?.reference ?? false;
  const windows = windowsOf(drift.points);
  const { selected, notice } = selectWindow(windows, search.window);
  const labels = windowEndLabels(windows.map((w) => w.end));
  const selectedLabel = selected ? `the window ending ${labels.get(selected.end)} UTC` : "the whole range (no monitor window in it yet)";
  // "Current" is the selected window, so the bars compare the reference with the rows the verdicts judged.
  const histogramSpan = selected ? absoluteRange(Date.parse(selected.start), Date.parse(selected.end)) : rangeQuery(search);
  const histograms = await api<HistogramsResponse>(`${path}/histograms?${histogramSpan}&version=${encodeURIComponent(version)}`).catch((error: unknown) => {
    // A version without a reference profile has no histograms; the API's reason is shown in their place.
    if (error instanceof ApiError && error.status < 500) return error.message;
    throw error;
  });

  const inputPoints = drift.points.filter((p) => p.feature !== "");
  const inputOrder = [...model.inputs.map((i) => i.name), ...new Set(inputPoints.map((p) => p.feature))].filter((f, i, all) => all.indexOf(f) === i);
  const cell = (feature: string, end: string) => inputPoints.find((p) => p.feature === feature && p.windowEnd === end);
  const judged = selected ? byDriftSeverity(inputPoints.filter((p) => p.windowEnd === selected.end)) : [];
  const drifted = judged.filter((p) => p.breached);
  const datasetShare = selected && drift.points.find((p) => p.metric === DATASET_DRIFT_SHARE && p.windowEnd === selected.end);
  const focus = typeof search.feature === "string" ? search.feature : undefined;
  const link = (params: Record<string, string>) =>
    keep(search, `/models/${encodeURIComponent(name)}/drift?${new URLSearchParams({ version, ...params }).toString()}`);

  const rank = new Map(judged.map((p, i) => [p.feature, i]));
  const histogramOrder = (feature: string) => (feature === focus ? -1 : (rank.get(feature) ?? judged.length + inputOrder.indexOf(feature)));
  const shownHistograms = typeof histograms === "string" ? [] : [...histograms.inputs].sort((a, b) => histogramOrder(a.feature) - histogramOrder(b.feature));
  const unknownFocus = focus !== undefined && !inputOrder.includes(focus);

  const seriesPoints = (metric: string, extra: (p: ResultPoint) => Record<string, number | null> = () => ({})) =>
    drift.points.filter((p) => p.metric === metric && p.feature === "").map((p) => ({ t: Date.parse(p.windowEnd), value: p.value, ...extra(p) }));
  const sharePoints = seriesPoints(DATASET_DRIFT_SHARE);
  const shareThreshold = drift.points.find((p) => p.metric === DATASET_DRIFT_SHARE)?.threshold ?? null;
  const reconstructionPoints = seriesPoints(RECONSTRUCTION_ERROR, (p) => ({ top: p.threshold }));

  const qualityEnd = selected?.end ?? windowsOf(dataQuality.points).at(-1)?.end;
  const quality = dataQuality.points.filter((p) => p.windowEnd === qualityEnd);
  const qualityOf = (metric: string, feature: string) => quality.find((p) => p.metric === metric && p.feature === feature)?.value;
  const qualityInputs = [...new Set(quality.filter((p) => p.metric === "missing_share").map((p) => p.feature))];
  const refused = quality.find((p) => p.metric === "refused_share" && p.feature === "");
  const reasons = quality.filter((p) => p.metric === "refused_share_by_reason");

  return (
    <>
      <h2>
        Drift of {name} <VersionPicker versions={model.versions.map((v) => v.version)} selected={version} serving={model.servingVersion} />{" "}
        <Link href={keep(search, `/models/${encodeURIComponent(name)}?version=${encodeURIComponent(version)}`)}>quality</Link>
      </h2>
      {unknownFocus && (
        <p className="card" role="status" data-notice="feature">
          {name} does not monitor an input named &quot;{focus}&quot; (inputs: {inputOrder.join(", ")}).
        </p>
      )}
      {notice && (
        <p className="card" role="status" data-notice="window">
          {notice}
        </p>
      )}
      <section className="card" data-section="drift-summary">
        {selected ? (
          <p className={styles.summary} data-summary>
            <strong>
              {drifted.length} of {judged.length} inputs drifted
            </strong>{" "}
            in {selectedLabel}
            {datasetShare
              ? `; the dataset ${datasetShare.breached ? "drifted" : "did not drift"} (share ${fixed(datasetShare.value, 2)}, threshold ${fixed(datasetShare.threshold, 2)})`
              : ""}
            .
          </p>
        ) : (
          <p className="empty" data-summary>
            {hasReference
              ? `No monitor window of version ${version} in this range: the monitor judges drift once a window with traffic has closed.`
              : `Version ${version} has no reference profile (no reference.jsonl, and none built with vigil profile), so its drift is not judged.`}
          </p>
        )}
        {judged.length > 0 && (
          <div className="table-scroll">
            <table data-table="drift-inputs">
              <caption>Inputs in {selectedLabel}, the most drifted first</caption>
              <thead>
                <tr>
                  <th>input</th>
                  <th>verdict</th>
                  <th>method</th>
                  <th className="num">statistic</th>
                  <th className="num">p-value</th>
                  <th>drifted when</th>
                </tr>
              </thead>
              <tbody>
                {judged.map((p) => {
                  const f = driftFigures(p);
                  return (
                    <tr key={p.feature} data-feature={p.feature}>
                      <th>
                        <Link href={link({ feature: p.feature, window: p.windowEnd })}>{p.feature}</Link>
                      </th>
                      <td>
                        <DriftBadge point={p} />
                      </td>
                      <td>{f.method}</td>
                      <td className="num">{f.statistic}</td>
                      <td className="num">{f.pValue}</td>
                      <td>{f.threshold}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section className="card">
        <h3>Drift score per input and monitor window</h3>
        {windows.length === 0 ? (
          <p className="empty">no monitor windows in this range</p>
        ) : (
          <>
            <p className="muted">
              Columns are the windows, labelled by their end (UTC); a bordered, bold cell drifted. Choose a cell to see that window&apos;s histograms.
            </p>
            <div className="table-scroll">
              <table className={`heat ${styles.heatmap}`} data-table="drift-heatmap">
                <thead>
                  <tr>
                    <th scope="col">input \ window end (UTC)</th>
                    {windows.map((w) => (
                      <th key={w.end} scope="col" className={w.end === selected?.end ? styles.selected : undefined} data-window-end={w.end}>
                        {labels.get(w.end)}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {inputOrder.map((feature) => (
                    <tr key={feature}>
                      <th scope="row">{feature}</th>
                      {windows.map((w) => {
                        const c = cell(feature, w.end);
                        const classes = [c?.breached ? styles.driftedCell : "", w.end === selected?.end ? styles.selected : ""].filter(Boolean).join(" ");
                        return (
                          <td key={w.end} className={classes || undefined} data-feature={feature} data-window-end={w.end}>
                            {c ? (
                              <Link
                                href={link({ feature, window: w.end })}
                                aria-label={`${feature}, window ending ${labels.get(w.end)} UTC: ${driftFigures(c).method} ${fixed(c.value, 3)}${c.breached ? ", drifted" : ""}`}
                              >
                                {fixed(c.value, 3)}
                              </Link>
                            ) : (
                              ""
                            )}
                          </td>
                        );
                      })}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )}
      </section>
      <section className="grid2">
        <TimeChart
          title="Dataset drift share per window"
          unit=""
          fromMs={fromMs}
          toMs={toMs}
          points={sharePoints}
          series={[{ key: "value", name: "share of drifted inputs" }]}
          thresholds={shareThreshold === null ? [] : [{ value: shareThreshold, label: `dataset drifted at ${shareThreshold}` }]}
          yDomain={[0, 1]}
          description={`Share of version ${version}'s inputs that drifted, one point at each monitor window's end, from ${new Date(fromMs).toISOString()} to ${new Date(toMs).toISOString()}.`}
          empty="no monitor windows in this range"
        />
        {reconstructionPoints.length > 0 && (
          <TimeChart
            title="Multivariate drift: mean reconstruction error"
            unit=""
            fromMs={fromMs}
            toMs={toMs}
            points={reconstructionPoints}
            series={[
              { key: "value", name: "mean reconstruction error" },
              { key: "top", name: "drifted above (top of the reference's band)", dashed: true },
            ]}
          />
        )}
      </section>
      <section className="card" data-section="data-quality">
        <h3>Data quality{qualityEnd ? ` in the window ending ${windowEndLabels([qualityEnd]).get(qualityEnd)} UTC` : ""}</h3>
        {quality.length === 0 ? (
          <p className="empty">no monitor windows in this range</p>
        ) : (
          <>
            <p>
              {refused ? `${percent(refused.value)} of ${String(refused.details.rows)} requests refused` : "no requests refused"}
              {reasons.length > 0 ? ` (${reasons.map((r) => `${r.feature} ${percent(r.value)}`).join(", ")})` : ""}
            </p>
            <div className="table-scroll">
              <table data-table="data-quality">
                <thead>
                  <tr>
                    <th>input</th>
                    <th className="num">missing</th>
                    <th className="num">outside the reference&apos;s range</th>
                    <th className="num">categories the reference never had</th>
                  </tr>
                </thead>
                <tbody>
                  {qualityInputs.map((feature) => (
                    <tr key={feature}>
                      <th>{feature}</th>
                      <td className="num">{percent(qualityOf("missing_share", feature))}</td>
                      <td className="num">{percent(qualityOf("out_of_range_share", feature))}</td>
                      <td className="num">{percent(qualityOf("unseen_category_share", feature))}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )}
      </section>
      <h3>Reference against current ({selectedLabel})</h3>
      {typeof histograms === "string" ? (
        <p className="card empty" data-notice="histograms">
          No histograms: {histograms}
        </p>
      ) : (
        <section className="grid2" data-section="histograms">
          {shownHistograms.map((h) => (
            <DriftHistogram
              key={h.feature}
              histogram={h}
              point={judged.find((p) => p.feature === h.feature)}
              currentLabel={selectedLabel}
              highlighted={h.feature === focus}
            />
          ))}
        </section>
      )}
      {focus && <ScrollIntoView id={`histogram-${focus}`} />}
    </>
  );
}
