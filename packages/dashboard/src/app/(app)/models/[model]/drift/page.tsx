import type { Histogram, HistogramsResponse, ModelResultsResponse, OverviewResponse } from "@vigil/monitor";
import { BarChartCard, LineChartCard } from "@/components/charts";
import { api } from "@/lib/api";
import { type Search, fixed, rangeQuery, timeOf } from "@/lib/range";

const share = (counts: number[]) => {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (total === 0 ? 0 : Number((c / total).toFixed(4))));
};

function binNames(h: Histogram): string[] {
  if ("categories" in h.bins) return h.bins.categories;
  const { edges } = h.bins;
  return h.reference.map((_, i) => (i === 0 ? `≤${edges[0]}` : i === edges.length ? `>${edges[i - 1]}` : `≤${edges[i]}`));
}

export default async function DriftPage({ params, searchParams }: { params: Promise<{ model: string }>; searchParams: Promise<Search> }) {
  const { model } = await params;
  const search = await searchParams;
  const name = decodeURIComponent(model);
  const path = `/api/v1/models/${encodeURIComponent(name)}`;
  const [drift, dataQuality, overview] = await Promise.all([
    api<ModelResultsResponse>(`${path}/drift?${rangeQuery(search)}`),
    api<ModelResultsResponse>(`${path}/data-quality?${rangeQuery(search)}`),
    api<OverviewResponse>(`/api/v1/overview?${rangeQuery(search)}&model=${encodeURIComponent(name)}`),
  ]);
  const version = typeof search.version === "string" ? search.version : overview.totals.models.map((m) => m.version).sort((a, b) => Number(b) - Number(a))[0];
  const histograms = version
    ? await api<HistogramsResponse>(`${path}/histograms?${rangeQuery(search)}&version=${encodeURIComponent(version)}`).catch(() => ({ inputs: [] }))
    : { inputs: [] };
  const windows = [...new Set(drift.points.map((p) => p.windowEnd))].sort();
  // The model's own order of inputs (as the histograms list them), then any others the windows hold.
  const inputs = [...new Set([...histograms.inputs.map((h) => h.feature), ...drift.points.filter((p) => p.feature !== "").map((p) => p.feature)])];
  const cell = (feature: string, end: string) => drift.points.find((p) => p.feature === feature && p.windowEnd === end);
  const datasetShare = windows.map((end) => ({
    t: timeOf(end),
    share: drift.points.find((p) => p.metric === "dataset_drift_share" && p.windowEnd === end)?.value ?? null,
    reconstruction: drift.points.find((p) => p.metric === "reconstruction_error" && p.windowEnd === end)?.value ?? null,
    band: drift.points.find((p) => p.metric === "reconstruction_error" && p.windowEnd === end)?.threshold ?? null,
  }));
  const hasReconstruction = datasetShare.some((w) => w.reconstruction !== null);
  // Data quality of the newest window that has any.
  const qualityEnd = [...new Set(dataQuality.points.map((p) => p.windowEnd))].sort().at(-1);
  const quality = dataQuality.points.filter((p) => p.windowEnd === qualityEnd);
  const qualityOf = (metric: string, feature: string) => quality.find((p) => p.metric === metric && p.feature === feature);
  const qualityInputs = [...new Set(quality.filter((p) => p.metric === "missing_share").map((p) => p.feature))];
  const percent = (v: number | undefined) => (v === undefined ? "–" : `${(100 * v).toFixed(2)}%`);
  const refused = qualityOf("refused_share", "");
  const reasons = quality.filter((p) => p.metric === "refused_share_by_reason");
  return (
    <>
      <h2>
        Drift of {name}
        {version ? ` version ${version}` : ""}
      </h2>
      <section className="card">
        <h3>Inputs per monitor window (score; red: drifted)</h3>
        {windows.length === 0 ? (
          <p className="empty">no monitor windows in this range</p>
        ) : (
          <div style={{ overflowX: "auto" }}>
            <table className="heat" data-table="drift-heatmap">
              <thead>
                <tr>
                  <th>input</th>
                  {windows.map((w) => (
                    <th key={w}>{timeOf(w)}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {inputs.map((feature) => (
                  <tr key={feature}>
                    <th>{feature}</th>
                    {windows.map((w) => {
                      const c = cell(feature, w);
                      return (
                        <td
                          key={w}
                          className={`cell ${c?.breached ? "bad" : ""}`}
                          title={c ? `${c.metric} ${fixed(c.value, 4)} (threshold ${fixed(c.threshold, 3)})` : ""}
                          style={{ background: c?.breached ? "#fee2e2" : undefined }}
                        >
                          {c ? fixed(c.value, 3) : ""}
                        </td>
                      );
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <LineChartCard title="Dataset drift share" data={datasetShare} series={[{ key: "share", name: "share of drifted inputs" }]} />
      {hasReconstruction ? (
        <LineChartCard
          title="Multivariate drift: mean reconstruction error (drifted above the band's top)"
          data={datasetShare}
          series={[
            { key: "reconstruction", name: "mean reconstruction error" },
            { key: "band", name: "top of the reference's band" },
          ]}
        />
      ) : null}
      <section className="card" data-section="data-quality">
        <h3>Data quality{qualityEnd ? ` (window ending ${timeOf(qualityEnd)})` : ""}</h3>
        {quality.length === 0 ? (
          <p className="empty">no monitor windows in this range</p>
        ) : (
          <>
            <p>
              {refused ? `${percent(refused.value)} of ${String(refused.details.rows)} requests refused` : "no requests refused"}
              {reasons.length > 0 ? ` (${reasons.map((r) => `${r.feature} ${percent(r.value)}`).join(", ")})` : ""}
            </p>
            <div style={{ overflowX: "auto" }}>
              <table data-table="data-quality">
                <thead>
                  <tr>
                    <th>input</th>
                    <th>missing</th>
                    <th>outside the reference's range</th>
                    <th>categories the reference never had</th>
                  </tr>
                </thead>
                <tbody>
                  {qualityInputs.map((feature) => (
                    <tr key={feature}>
                      <th>{feature}</th>
                      <td>{percent(qualityOf("missing_share", feature)?.value)}</td>
                      <td>{percent(qualityOf("out_of_range_share", feature)?.value)}</td>
                      <td>{percent(qualityOf("unseen_category_share", feature)?.value)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )}
      </section>
      <section className="grid2">
        {histograms.inputs.map((h) => {
          const ref = share(h.reference);
          const cur = share(h.current);
          const names = binNames(h);
          return (
            <BarChartCard
              key={h.feature}
              title={`${h.feature}: reference against current`}
              data={names.map((bin, i) => ({ bin, reference: ref[i] ?? 0, current: cur[i] ?? 0 }))}
              series={[
                { key: "reference", name: "reference" },
                { key: "current", name: "current" },
              ]}
            />
          );
        })}
      </section>
    </>
  );
}
