import type { SloBurnResponse, SlosResponse } from "@vigil/monitor";
import { LineChartCard } from "@/components/charts";
import { api } from "@/lib/api";
import { type Search, fixed, percent, rangeQuery, timeOf } from "@/lib/range";

export default async function SlosPage({ searchParams }: { searchParams: Promise<Search> }) {
  const search = await searchParams;
  const slos = await api<SlosResponse>("/api/v1/slos");
  const burns = await Promise.all(slos.map((s) => api<SloBurnResponse>(`/api/v1/slos/${encodeURIComponent(s.slo)}/burn?${rangeQuery(search)}`)));
  return (
    <>
      <h2>SLOs</h2>
      {slos.length === 0 && <p className="empty">no SLOs configured (slos in the alerting config)</p>}
      {slos.map((s, i) => (
        <section key={s.slo} className="card" data-slo={s.slo}>
          <h3>
            {s.slo}: {s.description || `${s.indicator} of ${s.model}`}
          </h3>
          <p>
            objective {percent(s.objective, 2)} over {s.window}; attainment <b>{percent(s.attainment, 3)}</b> ({s.good} good of {s.total}); error budget spent{" "}
            {percent(s.budget.spent, 1)}, remaining <span className={(s.budget.remaining ?? 1) < 0 ? "bad" : "good"}>{percent(s.budget.remaining, 1)}</span>
          </p>
          <p>
            burn rate: 1h {fixed(s.burnRates["1h"], 2)}, 6h {fixed(s.burnRates["6h"], 2)}, 1d {fixed(s.burnRates["1d"], 2)}, 3d {fixed(s.burnRates["3d"], 2)} (1
            spends the budget exactly over the window)
          </p>
          <LineChartCard
            title={`Burn rate of ${s.slo}`}
            data={burns[i]!.points.map((p) => ({ t: timeOf(p.t), burn: p.total === 0 ? null : p.burnRate }))}
            series={[{ key: "burn", name: "burn rate" }]}
          />
          <h3>Burn-rate alerts in the window</h3>
          {s.incidents.length === 0 ? (
            <p className="empty">none</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th>alert</th>
                  <th>severity</th>
                  <th>windows</th>
                  <th>started</th>
                  <th>ended</th>
                </tr>
              </thead>
              <tbody>
                {s.incidents.map((inc) => (
                  <tr key={`${inc.startsAt}:${inc.labels.long_window}`}>
                    <td>{inc.alertname}</td>
                    <td>{inc.severity}</td>
                    <td>
                      {inc.labels.long_window}/{inc.labels.short_window}
                    </td>
                    <td>{inc.startsAt}</td>
                    <td>{inc.endsAt ?? "firing"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      ))}
    </>
  );
}
