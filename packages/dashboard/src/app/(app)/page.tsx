import Link from "next/link";
import type { AlertsResponse, OverviewResponse, SlosResponse } from "@vigil/monitor";
import { LineChartCard } from "@/components/charts";
import { api } from "@/lib/api";
import { type Search, fixed, keep, percent, rangeCovering, rangeQuery, timeOf } from "@/lib/range";

export default async function OverviewPage({ searchParams }: { searchParams: Promise<Search> }) {
  const search = await searchParams;
  const [overview, slos, alerts] = await Promise.all([
    api<OverviewResponse>(`/api/v1/overview?${rangeQuery(search)}`),
    api<SlosResponse>("/api/v1/slos"),
    api<AlertsResponse>("/api/v1/alerts"),
  ]);
  const { totals } = overview;
  const points = overview.series.map((p) => ({
    t: timeOf(p.t),
    requests: p.requests,
    errors: p.errors,
    p50: p.p50Ms,
    p95: p.p95Ms,
    p99: p.p99Ms,
    errorRate: p.errorRate === null ? null : 100 * p.errorRate,
  }));
  const firing = alerts.filter((a) => a.state === "firing");
  return (
    <>
      <h2>Overview</h2>
      <section className="cards">
        <div className="card" data-metric="requests">
          <div className="label">requests</div>
          <div className="value">{totals.requests}</div>
        </div>
        <div className="card" data-metric="error-rate">
          <div className="label">server error rate</div>
          <div className="value">{percent(totals.errorRate, 3)}</div>
        </div>
        <div className="card" data-metric="p50">
          <div className="label">p50 latency</div>
          <div className="value">{fixed(totals.p50Ms, 2)} ms</div>
        </div>
        <div className="card" data-metric="p95">
          <div className="label">p95 latency</div>
          <div className="value">{fixed(totals.p95Ms, 2)} ms</div>
        </div>
        <div className="card" data-metric="p99">
          <div className="label">p99 latency</div>
          <div className="value">{fixed(totals.p99Ms, 2)} ms</div>
        </div>
        <div className="card" data-metric="firing">
          <div className="label">alerts firing</div>
          <div className={`value ${firing.length > 0 ? "bad" : "good"}`}>{firing.length}</div>
        </div>
      </section>
      <section className="grid2">
        <LineChartCard
          title="Traffic (requests per step)"
          data={points}
          series={[
            { key: "requests", name: "requests" },
            { key: "errors", name: "server errors" },
          ]}
        />
        <LineChartCard
          title="Latency"
          unit=" ms"
          data={points}
          series={[
            { key: "p50", name: "p50" },
            { key: "p95", name: "p95" },
            { key: "p99", name: "p99" },
          ]}
        />
      </section>
      <section className="grid2">
        <div className="card">
          <h3>SLO error budget</h3>
          {slos.length === 0 ? (
            <p className="empty">no SLOs configured</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th>SLO</th>
                  <th className="num">objective</th>
                  <th className="num">attainment</th>
                  <th className="num">budget left</th>
                  <th className="num">burn 1h</th>
                </tr>
              </thead>
              <tbody>
                {slos.map((s) => (
                  <tr key={s.slo}>
                    <td>
                      <Link href={keep(search, "/slos")}>{s.slo}</Link>
                    </td>
                    <td className="num">{percent(s.objective, 2)}</td>
                    <td className="num">{percent(s.attainment, 3)}</td>
                    <td className={`num ${(s.budget.remaining ?? 1) < 0 ? "bad" : ""}`}>{percent(s.budget.remaining, 1)}</td>
                    <td className="num">{fixed(s.burnRates["1h"], 2)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
        <div className="card">
          <h3>Firing alerts</h3>
          {firing.length === 0 ? (
            <p className="empty">none</p>
          ) : (
            <ul>
              {firing.map((a) => (
                <li key={a.fingerprint}>
                  <span className="bad">{a.labels.alertname}</span> [{a.labels.severity}] {a.annotations.summary ?? ""}{" "}
                  {a.labels.model && (
                    <Link href={`/models/${encodeURIComponent(a.labels.model)}?range=${rangeCovering(a.startsAt)}`}>model {a.labels.model}</Link>
                  )}
                </li>
              ))}
            </ul>
          )}
        </div>
      </section>
      <section className="card">
        <h3>Models</h3>
        <table>
          <thead>
            <tr>
              <th>model</th>
              <th>version</th>
              <th className="num">requests</th>
              <th className="num">server errors</th>
            </tr>
          </thead>
          <tbody>
            {totals.models.map((m) => (
              <tr key={`${m.model}:${m.version}`}>
                <td>
                  <Link href={keep(search, `/models/${encodeURIComponent(m.model)}`)}>{m.model}</Link>
                </td>
                <td>{m.version}</td>
                <td className="num">{m.requests}</td>
                <td className="num">{m.errors}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </>
  );
}
