import { Link } from "@/components/link";
import type { AlertsResponse, ModelsResponse, OverviewResponse, SlosResponse } from "@vigil/monitor";
import { AlertCauseLinks } from "@/components/alert-cause";
import { TimeChart } from "@/components/time-chart";
import { alertLinks, valueText } from "@/lib/alert-links";
import { api } from "@/lib/api";
import { deployMarkers } from "@/lib/models";
import { AREAS, type Area, type AreaStatus, groupAlerts, modelStatus } from "@/lib/model-status";
import { type Search, fixed, keep, percent, rangeQuery } from "@/lib/range";

export const metadata = { title: "Overview · Vigil" };

const AREA_NAMES: Record<Area, string> = { serving: "serving", quality: "quality", drift: "drift", slo: "SLO" };
const STATUS_CLASS = { ok: "good", warning: "", firing: "bad" } as const;

export default async function OverviewPage({ searchParams }: { searchParams: Promise<Search> }) {
  const search = await searchParams;
  const [overview, slos, alerts, repository] = await Promise.all([
    api<OverviewResponse>(`/api/v1/overview?${rangeQuery(search)}`),
    api<SlosResponse>("/api/v1/slos"),
    api<AlertsResponse>("/api/v1/alerts"),
    api<ModelsResponse>("/api/v1/models"),
  ]);
  const { totals, stepMs } = overview;
  const fromMs = Date.parse(overview.from);
  const toMs = Date.parse(overview.to);
  const perSecond = 1000 / stepMs;
  const points = overview.series.map((p) => ({
    t: Date.parse(p.t),
    requests: p.requests * perSecond,
    errors: p.errors * perSecond,
    p50: p.p50Ms,
    p95: p.p95Ms,
    p99: p.p99Ms,
  }));
  // Steps are aligned to the epoch, so the one holding `to` is still being filled.
  const partialFromMs = Math.floor(toMs / stepMs) * stepMs;
  const deploys = deployMarkers(repository.models, fromMs, toMs);
  const objectives = slos
    .filter((s) => s.indicator === "latency" && s.thresholdMs !== null)
    .map((s) => ({ value: s.thresholdMs!, label: `${s.slo}: ${percent(s.objective, 1)} ≤ ${s.thresholdMs} ms` }));
  // The latency axis reaches the objectives, so their lines show even while latency is far below them.
  const latencyTop = Math.max(...objectives.map((o) => o.value), ...points.map((p) => p.p99 ?? 0)) * 1.05;
  const firing = alerts.filter((a) => a.state === "firing");
  const models = [
    ...new Set([...totals.models.map((m) => m.model), ...alerts.flatMap((a) => (a.labels.model ? [a.labels.model] : [])), ...slos.map((s) => s.model)]),
  ].sort();
  const serverErrors = (model: string) => totals.models.filter((m) => m.model === model).reduce((n, m) => n + m.errors, 0);
  const areaHref = (model: string, area: Area, status: AreaStatus): string => {
    const cause = status.alerts[0] && alertLinks(status.alerts[0])[0];
    if (cause) return cause.href;
    const m = encodeURIComponent(model);
    const slo = slos.find((s) => s.model === model);
    const page = {
      serving: `/traces?model=${m}`,
      quality: `/models/${m}`,
      drift: `/models/${m}/drift`,
      slo: slo ? `/slos?slo=${encodeURIComponent(slo.slo)}` : "/slos",
    };
    return keep(search, page[area]);
  };
  const groups = groupAlerts(alerts);
  return (
    <>
      <h2>Overview</h2>
      <section className="card" aria-labelledby="status-heading">
        <h3 id="status-heading">Status per model</h3>
        {models.length === 0 ? (
          <p className="empty">no models with traffic, alerts or SLOs</p>
        ) : (
          <div className="table-scroll">
            <table data-table="model-status">
              <thead>
                <tr>
                  <th>model</th>
                  {AREAS.map((area) => (
                    <th key={area}>{AREA_NAMES[area]}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {models.map((model) => {
                  const status = modelStatus(model, alerts, serverErrors(model));
                  return (
                    <tr key={model} data-model={model}>
                      <td>
                        <Link href={keep(search, `/models/${encodeURIComponent(model)}`)}>{model}</Link>
                      </td>
                      {AREAS.map((area) => (
                        <td key={area} data-area={area} data-status={status[area].status}>
                          <Link className={STATUS_CLASS[status[area].status]} href={areaHref(model, area, status[area])}>
                            {status[area].status === "warning" ? "⚠ warning" : status[area].status === "firing" ? "● firing" : "ok"}
                          </Link>
                          {status[area].alerts.length > 0 && <span className="muted"> ({status[area].alerts.length})</span>}
                        </td>
                      ))}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section className="cards">
        <div className="card" data-metric="requests">
          <div className="label">requests</div>
          <div className="value">{totals.requests}</div>
          {totals.rows !== totals.requests && <div className="label">{totals.rows} prediction rows</div>}
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
      <section className="card">
        <h3>Alerts</h3>
        {groups.length === 0 ? (
          <p className="empty">none pending or firing</p>
        ) : (
          <ul data-list="alert-groups">
            {groups.map((g) => {
              const [first] = g.alerts;
              return (
                <li key={`${g.alertname}:${g.model}`} data-alert-group={g.alertname} data-model={g.model}>
                  <span className={first!.state === "firing" ? "bad" : ""}>{g.alertname}</span> [{first!.labels.severity}, {first!.state}]
                  {g.model && ` ${g.model}`}
                  {g.alerts.length > 1 && ` ×${g.alerts.length}`}: {first!.annotations.summary ?? valueText(first!)} <AlertCauseLinks alerts={g.alerts} />
                </li>
              );
            })}
          </ul>
        )}
      </section>
      <section className="grid2">
        <TimeChart
          title="Traffic"
          unit="req/s"
          fromMs={fromMs}
          toMs={toMs}
          stepMs={stepMs}
          partialFromMs={partialFromMs}
          points={points}
          series={[
            { key: "requests", name: "requests" },
            { key: "errors", name: "server errors" },
          ]}
          markers={deploys}
          description={`Requests and server-side errors per second, averaged over ${stepMs / 60_000}-minute steps, from ${overview.from} to ${overview.to}: ${totals.requests} requests, ${totals.errors} server errors in all.`}
        />
        <TimeChart
          title="Latency"
          unit="ms"
          fromMs={fromMs}
          toMs={toMs}
          stepMs={stepMs}
          partialFromMs={partialFromMs}
          points={points}
          series={[
            { key: "p50", name: "p50" },
            { key: "p95", name: "p95" },
            { key: "p99", name: "p99" },
          ]}
          thresholds={objectives}
          markers={deploys}
          yDomain={[0, latencyTop > 0 ? latencyTop : "auto"]}
          description={`Latency percentiles per ${stepMs / 60_000}-minute step from ${overview.from} to ${overview.to}: over the range p50 ${fixed(totals.p50Ms, 2)} ms, p95 ${fixed(totals.p95Ms, 2)} ms, p99 ${fixed(totals.p99Ms, 2)} ms${objectives.length > 0 ? `; objectives ${objectives.map((o) => o.label).join(", ")}` : ""}.`}
        />
      </section>
      <section className="grid2">
        <div className="card">
          <h3>SLO error budget</h3>
          {slos.length === 0 ? (
            <p className="empty">no SLOs configured</p>
          ) : (
            <div className="table-scroll">
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
                        <Link href={keep(search, `/slos?slo=${encodeURIComponent(s.slo)}`)}>{s.slo}</Link>
                      </td>
                      <td className="num">{percent(s.objective, 2)}</td>
                      <td className="num">{percent(s.attainment, 3)}</td>
                      <td className={`num ${(s.budget.remaining ?? 1) < 0 ? "bad" : ""}`}>{percent(s.budget.remaining, 1)}</td>
                      <td className="num">{fixed(s.burnRates["1h"], 2)}×</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
        <div className="card">
          <h3>Models</h3>
          <div className="table-scroll">
            <table data-table="models">
              <thead>
                <tr>
                  <th>model</th>
                  <th>version</th>
                  <th className="num">requests</th>
                  <th className="num">server errors</th>
                  <th className="num">error rate</th>
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
                    <td className="num">{percent(m.errorRate, 3)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      </section>
    </>
  );
}
