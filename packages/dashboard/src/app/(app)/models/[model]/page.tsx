import Link from "next/link";
import type { ConfusionResponse, ModelResultsResponse } from "@vigil/monitor";
import { LineChartCard } from "@/components/charts";
import { type EstimatePoint, EstimateChartCard } from "@/components/estimate-chart";
import { ApiError, api } from "@/lib/api";
import { type Search, fixed, keep, percent, rangeQuery, timeOf } from "@/lib/range";

const QUALITY_LINES = [
  { key: "accuracy", name: "accuracy" },
  { key: "f1_macro", name: "macro F1" },
  { key: "roc_auc", name: "ROC AUC" },
  { key: "label_coverage", name: "label coverage" },
];

export default async function ModelPage({ params, searchParams }: { params: Promise<{ model: string }>; searchParams: Promise<Search> }) {
  const { model } = await params;
  const search = await searchParams;
  const name = decodeURIComponent(model);
  const path = `/api/v1/models/${encodeURIComponent(name)}`;
  const [quality, estimated, confusion] = await Promise.all([
    api<ModelResultsResponse>(`${path}/quality?${rangeQuery(search)}`),
    api<ModelResultsResponse>(`${path}/estimated?${rangeQuery(search)}`),
    api<ConfusionResponse>(`${path}/confusion?${rangeQuery(search)}`).catch((error: unknown) => {
      if (error instanceof ApiError && error.status < 500) return undefined;
      throw error;
    }),
  ]);
  const byWindow = new Map<string, Record<string, number | string | null>>();
  for (const p of quality.points) {
    if (p.feature !== "" || !QUALITY_LINES.some((l) => l.key === p.metric)) continue;
    const row = byWindow.get(p.windowEnd) ?? { t: timeOf(p.windowEnd) };
    row[p.metric] = p.value;
    byWindow.set(p.windowEnd, row);
  }
  const estimates = new Map<string, EstimatePoint>();
  const pointAt = (windowEnd: string) => {
    const point = estimates.get(windowEnd) ?? { t: timeOf(windowEnd), realized: null, estimated: null, band: null };
    estimates.set(windowEnd, point);
    return point;
  };
  for (const p of estimated.points) {
    if (p.feature !== "" || p.metric !== "accuracy") continue;
    const point = pointAt(p.windowEnd);
    point.estimated = p.value;
    const { lower, upper } = p.details;
    if (typeof lower === "number" && typeof upper === "number") point.band = [lower, upper];
  }
  for (const p of quality.points) if (p.feature === "" && p.metric === "accuracy" && estimates.has(p.windowEnd)) pointAt(p.windowEnd).realized = p.value;
  return (
    <>
      <h2>
        Model {name} <Link href={keep(search, `/models/${encodeURIComponent(name)}/drift`)}>drift</Link>
      </h2>
      <LineChartCard title="Quality per monitor window" data={[...byWindow.values()]} series={QUALITY_LINES} />
      <EstimateChartCard title="Estimated accuracy before labels (CBPE) against realized" data={[...estimates.values()]} />
      {confusion ? (
        <section className="grid2">
          <div className="card">
            <h3>Per class, over the range ({confusion.rows} labelled predictions)</h3>
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
            <p>
              accuracy {percent(confusion.accuracy)}, ROC AUC {fixed(confusion.rocAuc)}, log loss {fixed(confusion.logLoss)}, calibration error{" "}
              {fixed(confusion.expectedCalibrationError)}
            </p>
          </div>
          <div className="card">
            <h3>Confusion matrix (rows: label, columns: prediction)</h3>
            <table data-table="confusion">
              <thead>
                <tr>
                  <th />
                  {confusion.classes.map((c) => (
                    <th key={c} className="num">
                      {c}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {confusion.confusion.map((row, t) => (
                  <tr key={confusion.classes[t]}>
                    <th>{confusion.classes[t]}</th>
                    {row.map((n, p) => (
                      <td key={confusion.classes[p]} className="num">
                        {n}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <LineChartCard
            title="Calibration (accuracy against confidence per bin)"
            data={confusion.calibration.map((b) => ({ t: `${b.lower.toFixed(1)}-${b.upper.toFixed(1)}`, confidence: b.meanConfidence, accuracy: b.accuracy }))}
            series={[
              { key: "confidence", name: "mean confidence" },
              { key: "accuracy", name: "accuracy" },
            ]}
          />
        </section>
      ) : (
        <p className="empty">not a classifier, or no labels in this range</p>
      )}
    </>
  );
}
