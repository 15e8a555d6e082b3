import Link from "next/link";
import type { AlertsResponse, SilencesResponse } from "@vigil/monitor";
import { ExpireButton, SilenceForm } from "@/components/silences";
import { api } from "@/lib/api";
import { type Search, rangeCovering, rangeQuery } from "@/lib/range";

const labelText = (labels: Record<string, string>) =>
  Object.entries(labels)
    .filter(([k]) => k !== "alertname")
    .map(([k, v]) => `${k}=${v}`)
    .join(", ");

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
          <table data-table="active-alerts">
            <thead>
              <tr>
                <th>alert</th>
                <th>state</th>
                <th>labels</th>
                <th>summary</th>
                <th>since</th>
              </tr>
            </thead>
            <tbody>
              {active.map((a) => (
                <tr key={a.fingerprint}>
                  <td className={a.state === "firing" ? "bad" : ""}>{a.labels.alertname}</td>
                  <td>{a.state}</td>
                  <td>
                    {labelText(a.labels)}{" "}
                    {a.labels.model && <Link href={`/models/${encodeURIComponent(a.labels.model)}?range=${rangeCovering(a.startsAt)}`}>model</Link>}
                  </td>
                  <td>{a.annotations.summary ?? ""}</td>
                  <td>{a.startsAt}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section className="grid2">
        <div className="card">
          <h3>Silences</h3>
          {silences.length === 0 ? (
            <p className="empty">none</p>
          ) : (
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
          )}
        </div>
        <SilenceForm />
      </section>
      <section className="card">
        <h3>History</h3>
        <table data-table="alert-history">
          <thead>
            <tr>
              <th>changed</th>
              <th>alert</th>
              <th>state</th>
              <th>labels</th>
              <th className="num">value</th>
            </tr>
          </thead>
          <tbody>
            {history.map((h) => (
              <tr key={`${h.fingerprint}:${h.changedAt}:${h.state}`}>
                <td>{h.changedAt}</td>
                <td>{h.labels.alertname}</td>
                <td>{h.state}</td>
                <td>{labelText(h.labels)}</td>
                <td className="num">{h.value.toPrecision(4)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </>
  );
}
