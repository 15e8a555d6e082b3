import type { AlertsResponse, SilencesResponse } from "@vigil/monitor";
import { AlertCauseLinks, SilenceLink, ValueCells, windowText } from "@/components/alert-cause";
import { ExpireButton, SilenceForm } from "@/components/silences";
import { attentionOrder } from "@/lib/alert-links";
import { api } from "@/lib/api";
import { type Search, rangeQuery } from "@/lib/range";

export const metadata = { title: "Alerts · Vigil" };

/** Labels worth reading beside the alert's name (its name and severity have their own columns). */
const labelText = (labels: Record<string, string>) =>
  Object.entries(labels)
    .filter(([k]) => k !== "alertname" && k !== "severity")
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");

/** Matchers the silence form starts with: from an alert's "silence" button, else none. */
const prefill = (search: Search) => (typeof search.silence === "string" ? search.silence.slice(0, 2000) : "");

export default async function AlertsPage({ searchParams }: { searchParams: Promise<Search> }) {
  const search = await searchParams;
  const [active, history, silences] = await Promise.all([
    api<AlertsResponse>("/api/v1/alerts"),
    api<AlertsResponse>(`/api/v1/alerts/history?${rangeQuery(search)}&limit=200`),
    api<SilencesResponse>("/api/v1/silences"),
  ]);
  const now = Date.now();
  return (
    <>
      <h2>Alerts</h2>
      <section className="card">
        <h3>Active</h3>
        {active.length === 0 ? (
          <p className="empty">none</p>
        ) : (
          <div className="table-scroll">
            <table data-table="active-alerts">
              <thead>
                <tr>
                  <th>alert</th>
                  <th>severity</th>
                  <th>state</th>
                  <th>labels</th>
                  <th className="num">value</th>
                  <th className="num">threshold</th>
                  <th>window</th>
                  <th>summary</th>
                  <th>since</th>
                  <th>cause</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {[...active].sort(attentionOrder).map((a) => (
                  <tr key={a.fingerprint} data-alert={a.labels.alertname} data-fingerprint={a.fingerprint}>
                    <td className={a.state === "firing" ? "bad" : ""}>{a.labels.alertname}</td>
                    <td>{a.labels.severity}</td>
                    <td>{a.state}</td>
                    <td>{labelText(a.labels)}</td>
                    <ValueCells alert={a} />
                    <td>{windowText(a)}</td>
                    <td>{a.annotations.summary ?? ""}</td>
                    <td>{a.startsAt}</td>
                    <td>
                      <AlertCauseLinks alerts={[a]} />
                    </td>
                    <td>
                      <SilenceLink alert={a} search={search} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section className="card">
        <h3>History</h3>
        {history.length === 0 ? (
          <p className="empty">no alert changed state in this range</p>
        ) : (
          <div className="table-scroll">
            <table data-table="alert-history">
              <thead>
                <tr>
                  <th>changed</th>
                  <th>alert</th>
                  <th>state</th>
                  <th>labels</th>
                  <th className="num">value</th>
                  <th className="num">threshold</th>
                  <th>window</th>
                  <th>cause</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {history.map((h) => (
                  <tr key={`${h.fingerprint}:${h.changedAt}:${h.state}`} data-alert={h.labels.alertname} data-fingerprint={h.fingerprint}>
                    <td>{h.changedAt}</td>
                    <td>{h.labels.alertname}</td>
                    <td>{h.state}</td>
                    <td>{labelText(h.labels)}</td>
                    <ValueCells alert={h} />
                    <td>{windowText(h)}</td>
                    <td>
                      <AlertCauseLinks alerts={[h]} />
                    </td>
                    <td>
                      <SilenceLink alert={h} search={search} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section className="grid2">
        <div className="card">
          <h3>Silences</h3>
          {silences.length === 0 ? (
            <p className="empty">none</p>
          ) : (
            <div className="table-scroll">
              <table data-table="silences">
                <thead>
                  <tr>
                    <th>matchers</th>
                    <th>state</th>
                    <th>ends</th>
                    <th>by</th>
                    <th>why</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {silences.map((s) => {
                    const activeNow = s.startsAt <= now && now < s.endsAt;
                    return (
                      <tr key={s.id} data-silence={s.id}>
                        <td>{s.matchers.map((m) => `${m.name}${m.op}"${m.value}"`).join(" ")}</td>
                        <td>{activeNow ? "active" : s.endsAt <= now ? "expired" : "pending"}</td>
                        <td>{new Date(s.endsAt).toISOString()}</td>
                        <td>{s.createdBy}</td>
                        <td>{s.comment}</td>
                        <td>{activeNow && <ExpireButton id={s.id} />}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        </div>
        <SilenceForm defaultMatchers={prefill(search)} />
      </section>
    </>
  );
}
