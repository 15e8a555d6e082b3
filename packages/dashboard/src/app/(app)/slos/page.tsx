import { Link } from "@/components/link";
import { notFound } from "next/navigation";
import type { SloBurnResponse, SlosResponse } from "@vigil/monitor";
import { ScrollIntoView } from "@/components/scroll-into-view";
import { TimeChart } from "@/components/time-chart";
import { api } from "@/lib/api";
import { type Search, fixed, keep, percent, rangeBounds, rangeQuery } from "@/lib/range";

export const metadata = { title: "SLOs · Vigil" };

const anchor = (slo: string) => `slo-${slo}`;

export default async function SlosPage({ searchParams }: { searchParams: Promise<Search> }) {
  const search = await searchParams;
  const selected = typeof search.slo === "string" ? search.slo : undefined;
  const slos = await api<SlosResponse>("/api/v1/slos");
  // A link to an SLO that is not configured (renamed, removed) says so rather than showing the others as if it were among them.
  if (selected !== undefined && !slos.some((s) => s.slo === selected)) notFound();
  const { fromMs, toMs } = rangeBounds(search);
  const burns = await Promise.all(slos.map((s) => api<SloBurnResponse>(`/api/v1/slos/${encodeURIComponent(s.slo)}/burn?${rangeQuery(search)}`)));
  return (
    <>
      <h2>SLOs</h2>
      {selected !== undefined && <ScrollIntoView id={anchor(selected)} />}
      {slos.length === 0 && <p className="empty">no SLOs configured (slos in the alerting config)</p>}
      {slos.map((s, i) => {
        const burn = burns[i]!;
        const points = burn.points.map((p) => ({ t: Date.parse(p.t), burn: p.total === 0 ? null : p.burnRate }));
        const factors = [...new Set(s.burnRateAlerts.map((a) => a.factor))];
        // The axis reaches the highest threshold, so every threshold line is drawn however low the burn.
        const top = Math.max(...factors, ...points.map((p) => p.burn ?? 0)) * 1.05;
        const isSelected = s.slo === selected;
        return (
          <section
            key={s.slo}
            id={anchor(s.slo)}
            className={`card${isSelected ? " selected" : ""}`}
            data-slo={s.slo}
            aria-current={isSelected ? "true" : undefined}
            style={isSelected ? { outline: "3px solid #1d4ed8" } : undefined}
          >
            <h3>
              {s.slo}: {s.description || `${s.indicator} of ${s.model}`}
            </h3>
            <p>
              objective {percent(s.objective, 2)}
              {s.thresholdMs !== null && ` of OK requests within ${s.thresholdMs} ms`} over {s.window}; attainment <b>{percent(s.attainment, 3)}</b> ({s.good}{" "}
              good of {s.total}); error budget spent {percent(s.budget.spent, 1)}, remaining{" "}
              <span className={(s.budget.remaining ?? 1) < 0 ? "bad" : "good"}>{percent(s.budget.remaining, 1)}</span>
            </p>
            <p>
              burn rate: 1h {fixed(s.burnRates["1h"], 2)}×, 6h {fixed(s.burnRates["6h"], 2)}×, 1d {fixed(s.burnRates["1d"], 2)}×, 3d{" "}
              {fixed(s.burnRates["3d"], 2)}× (1× spends the budget exactly over the window). Alerts:{" "}
              {s.burnRateAlerts.map((a) => `${a.severity} above ${a.factor}× over ${a.longWindow} and ${a.shortWindow}`).join("; ")}.
            </p>
            <p>
              <Link href={keep(search, `/traces?model=${encodeURIComponent(s.model)}&sort=slowest`)} data-link="slowest-traces">
                slowest traces of {s.model} in this range
              </Link>
            </p>
            <TimeChart
              title={`Burn rate of ${s.slo}`}
              unit="×"
              fromMs={fromMs}
              toMs={toMs}
              stepMs={burn.stepMs}
              partialFromMs={Math.floor(toMs / burn.stepMs) * burn.stepMs}
              points={points}
              series={[{ key: "burn", name: `burn rate per ${burn.stepMs / 60_000}-minute step` }]}
              thresholds={factors.map((f) => ({ value: f, label: `${f}×` }))}
              yDomain={[0, top]}
              empty="no requests in this range"
              description={`Burn rate of ${s.slo}'s error budget per ${burn.stepMs / 60_000}-minute step, ${burn.points.filter((p) => p.total > 0).length} steps with requests; alert thresholds at ${factors.join("×, ")}×.`}
            />
            <h3>Burn-rate alerts in the window</h3>
            {s.incidents.length === 0 ? (
              <p className="empty">none</p>
            ) : (
              <div className="table-scroll">
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
              </div>
            )}
          </section>
        );
      })}
    </>
  );
}
