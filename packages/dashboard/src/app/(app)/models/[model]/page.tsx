import { Link } from "@/components/link";
import type { AlertsResponse, ModelResultsResponse, WindowConfusionResponse } from "@vigil/monitor";
import { CalibrationChart } from "@/components/calibration-chart";
import { EstimateChart } from "@/components/estimate-chart";
import { type TimeMarker, type TimePoint, TimeChart } from "@/components/time-chart";
import { VersionPicker } from "@/components/version-picker";
import { ApiError, api } from "@/lib/api";
import { windowEndLabels } from "@/lib/drift";
import { apiOrNotFound, chosenVersion, repositoryModel } from "@/lib/models";
import { type Search, fixed, keep, percent, rangeBounds, rangeQuery, utc } from "@/lib/range";

type Params = { params: Promise<{ model: string }>; searchParams: Promise<Search> };

export async function generateMetadata({ params }: Params) {
  return { title: `Model ${decodeURIComponent((await params).model)} · Vigil` };
}

const QUALITY_LINES = [
  { key: "accuracy", name: "accuracy" },
  { key: "f1_macro", name: "macro F1" },
  { key: "roc_auc", name: "ROC AUC" },
  { key: "label_coverage", name: "label coverage" },
];

/** A confusion matrix cell's shade: its share of the row (the true class), so each row reads as where that class's rows went. */
const shade = (share: number) => ({ background: `rgb(37 99 235 / ${(0.6 * share).toFixed(3)})` });

export default async function ModelPage({ params, searchParams }: Params) {
  const name = decodeURIComponent((await params).model);
  const search = await searchParams;
  const model = await repositoryModel(name);
  const version = chosenVersion(model, search);
  const path = `/api/v1/models/${encodeURIComponent(name)}`;
  const scope = `${rangeQuery(search)}&version=${encodeURIComponent(version)}`;
  const { fromMs, toMs } = rangeBounds(search);
  const [quality, estimated, drift, history, confusion] = await Promise.all([
    apiOrNotFound<ModelResultsResponse>(`${path}/quality?${scope}`),
    apiOrNotFound<ModelResultsResponse>(`${path}/estimated?${scope}`),
    apiOrNotFound<ModelResultsResponse>(`${path}/drift?${scope}`),
    api<AlertsResponse>(`/api/v1/alerts/history?${rangeQuery(search)}`),
    model.classifier
      ? api<WindowConfusionResponse>(`${path}/confusion/windows?${scope}`).catch((error: unknown) => {
          if (error instanceof ApiError && error.status < 500) return error.message;
          throw error;
        })
      : "not a classifier: no confusion matrix",
  ]);

  const byWindow = new Map<string, TimePoint>();
  for (const p of quality.points) {
    if (p.feature !== "" || !QUALITY_LINES.some((l) => l.key === p.metric)) continue;
    const row = byWindow.get(p.windowEnd) ?? { t: Date.parse(p.windowEnd) };
    row[p.metric] = p.value;
    byWindow.set(p.windowEnd, row);
  }
  // Each alert once, where it started firing; each window in which the dataset drifted.
  const fired = new Map<string, TimeMarker>();
  for (const a of history) {
    if (a.labels.model !== name || a.state !== "firing") continue;
    fired.set(`${a.fingerprint}:${a.startsAt}`, { t: Date.parse(a.startsAt), label: a.labels.alertname ?? a.rule, tone: "alert" });
  }
  const driftMarkers: TimeMarker[] = drift.points
    .filter((p) => p.metric === "dataset_drift_share" && p.breached)
    .map((p) => ({ t: Date.parse(p.windowEnd), label: "dataset drift", tone: "drift" }));
  const markers = [...fired.values(), ...driftMarkers];
  const driftedWindows = drift.points.filter((p) => p.metric === "dataset_drift_share" && p.breached).map((p) => p.windowEnd);
  const driftLabels = windowEndLabels(driftedWindows);

  // The figures sum the monitor's stored windows (the rows themselves are too many to read on every visit), so they cover those windows' span.
  const span = typeof confusion === "string" ? null : confusion.window;
  const covered = span ? `${utc(span.from)} to ${utc(span.to)}` : "";
  const chosen = `${utc(new Date(fromMs).toISOString())} to ${utc(new Date(toMs).toISOString())}`;
  return (
    <>
      <h2>
        Model {name} <VersionPicker versions={model.versions.map((v) => v.version)} selected={version} serving={model.servingVersion} />{" "}
        <Link href={keep(search, `/models/${encodeURIComponent(name)}/drift?version=${encodeURIComponent(version)}`)}>drift</Link>{" "}
        <Link href={keep(search, `/models/${encodeURIComponent(name)}/rollout`)}>rollout</Link>
      </h2>
      <TimeChart
        title="Quality per monitor window"
        unit=""
        fromMs={fromMs}
        toMs={toMs}
        points={[...byWindow.values()]}
        series={QUALITY_LINES}
        yDomain={[0, 1]}
        markers={markers}
        description={`Accuracy, macro F1, ROC AUC and label coverage of version ${version} (0 to 1), one point at each monitor window's end, with ${fired.size} alerts and ${driftMarkers.length} drifted windows marked. Drag across the chart to narrow the range.`}
      />
      {driftedWindows.length > 0 && (
        <p>
          Dataset drift in the windows ending{" "}
          {driftedWindows.map((end, i) => (
            <span key={end}>
              {i > 0 ? ", " : ""}
              <Link href={keep(search, `/models/${encodeURIComponent(name)}/drift?${new URLSearchParams({ version, window: end }).toString()}`)}>
                {driftLabels.get(end)} UTC
              </Link>
            </span>
          ))}
          .
        </p>
      )}
      {model.classifier && <EstimateChart estimated={estimated.points} realized={quality.points} fromMs={fromMs} toMs={toMs} markers={markers} />}
      {typeof confusion === "string" ? (
        <p className="card empty">{confusion}</p>
      ) : span === null ? (
        <p className="card empty" data-covers>
          No monitor window ends in the chosen range ({chosen}), so there is no confusion matrix yet: the monitor evaluates each window once it has ended.
        </p>
      ) : (
        <section className="grid2" data-section="range-figures">
          <div className="card">
            <h3>Per class</h3>
            <p className="muted" data-covers>
              over {covered}, {confusion.rows} labelled predictions
              {covered !== chosen && ` (the monitor windows that end in the chosen range, ${chosen})`}
            </p>
            <div className="table-scroll">
              <table data-table="per-class">
                <thead>
                  <tr>
                    <th>class</th>
                    <th className="num">precision</th>
                    <th className="num">recall</th>
                    <th className="num">F1</th>
                    <th className="num">support</th>
                  </tr>
                </thead>
                <tbody>
                  {confusion.perClass.map((c) => (
                    <tr key={c.class}>
                      <td>{c.class}</td>
                      <td className="num">{fixed(c.precision)}</td>
                      <td className="num">{fixed(c.recall)}</td>
                      <td className="num">{fixed(c.f1)}</td>
                      <td className="num">{c.support}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <p>
              accuracy {percent(confusion.accuracy)}, ROC AUC {fixed(confusion.rocAucWindowMean)} (the windows&apos; mean, weighted by labelled predictions),
              log loss {fixed(confusion.logLoss)}, calibration error {fixed(confusion.expectedCalibrationError)}
            </p>
          </div>
          <div className="card">
            <h3>Confusion matrix</h3>
            <p className="muted">over {covered}; rows: true class, columns: predicted; each cell&apos;s count, its share of the row, shaded by that share</p>
            <div className="table-scroll">
              <table data-table="confusion">
                <thead>
                  <tr>
                    <th scope="col">true \ predicted</th>
                    {confusion.classes.map((c) => (
                      <th key={c} scope="col" className="num">
                        {c}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {confusion.confusion.map((row, t) => {
                    const total = row.reduce((a, b) => a + b, 0);
                    return (
                      <tr key={confusion.classes[t]}>
                        <th scope="row">{confusion.classes[t]}</th>
                        {row.map((n, p) => {
                          const share = total === 0 ? 0 : n / total;
                          return (
                            <td key={confusion.classes[p]} className="num" style={shade(share)} data-count={n}>
                              {n} <span className="share">({percent(share, 0)})</span>
                            </td>
                          );
                        })}
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          </div>
          <CalibrationChart bins={confusion.calibration} rangeLabel={covered} />
        </section>
      )}
    </>
  );
}
