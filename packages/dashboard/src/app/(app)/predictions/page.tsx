import Link from "next/link";
import type { PredictionPageResponse } from "@vigil/monitor";
import { api } from "@/lib/api";
import { type Search, keep, rangeQuery } from "@/lib/range";

const FILTERS = ["model", "version", "status", "requestId", "hasLabel"] as const;

export default async function PredictionsPage({ searchParams }: { searchParams: Promise<Search> }) {
  const search = await searchParams;
  const params = new URLSearchParams(rangeQuery(search));
  for (const f of [...FILTERS, "cursor"] as const) {
    const v = search[f];
    if (typeof v === "string" && v !== "") params.set(f, v);
  }
  params.set("limit", "50");
  const page = await api<PredictionPageResponse>(`/api/v1/predictions?${params.toString()}`);
  const next = new URLSearchParams(Object.entries(search).filter((e): e is [string, string] => typeof e[1] === "string"));
  if (page.nextCursor) next.set("cursor", page.nextCursor);
  return (
    <>
      <h2>Predictions</h2>
      <form className="card" method="get" style={{ display: "flex", gap: 8, flexWrap: "wrap", alignItems: "end" }}>
        {search.range && <input type="hidden" name="range" value={String(search.range)} />}
        <label>
          model <input name="model" defaultValue={String(search.model ?? "")} size={12} />
        </label>
        <label>
          version <input name="version" defaultValue={String(search.version ?? "")} size={4} />
        </label>
        <label>
          status <input name="status" defaultValue={String(search.status ?? "")} size={14} />
        </label>
        <label>
          request id <input name="requestId" defaultValue={String(search.requestId ?? "")} size={24} />
        </label>
        <label>
          label
          <select name="hasLabel" defaultValue={String(search.hasLabel ?? "")}>
            <option value="">any</option>
            <option value="true">labelled</option>
            <option value="false">not labelled</option>
          </select>
        </label>
        <button type="submit">search</button>
      </form>
      <section className="card">
        <table data-table="predictions">
          <thead>
            <tr>
              <th>time</th>
              <th>request</th>
              <th>model</th>
              <th>status</th>
              <th>prediction</th>
              <th className="num">confidence</th>
              <th>label</th>
              <th className="num">latency (ms)</th>
              <th>trace</th>
            </tr>
          </thead>
          <tbody>
            {page.rows.map((r) => (
              <tr key={`${r.requestId}:${r.rowIndex}`}>
                <td>{r.timestamp}</td>
                <td>
                  <Link href={keep(search, `/predictions/${encodeURIComponent(r.requestId)}/${r.rowIndex}`)}>{r.requestId}</Link>
                </td>
                <td>
                  {r.model} v{r.version}
                </td>
                <td className={r.status === "OK" ? "" : "bad"}>{r.status}</td>
                <td>{r.prediction}</td>
                <td className="num">{r.confidence.toFixed(3)}</td>
                <td>{r.label ?? ""}</td>
                <td className="num">{r.latencyMs.toFixed(3)}</td>
                <td>{r.traceId && <Link href={keep(search, `/traces/${r.traceId}`)}>trace</Link>}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {page.rows.length === 0 && <p className="empty">no predictions match</p>}
        {page.nextCursor && <Link href={`/predictions?${next.toString()}`}>next page</Link>}
      </section>
    </>
  );
}
