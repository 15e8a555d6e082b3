import Link from "next/link";
import type { TracesResponse } from "@vigil/monitor";
import { api } from "@/lib/api";
import { type Search, keep, rangeQuery } from "@/lib/range";

export default async function TracesPage({ searchParams }: { searchParams: Promise<Search> }) {
  const search = await searchParams;
  const traces = await api<TracesResponse>(`/api/v1/traces?${rangeQuery(search)}&limit=100`);
  return (
    <section className="card">
      <h2>Traces (newest 100)</h2>
      <table data-table="traces">
        <thead>
          <tr>
            <th>start</th>
            <th>trace</th>
            <th>model</th>
            <th>status</th>
            <th className="num">duration (ms)</th>
            <th className="num">spans</th>
          </tr>
        </thead>
        <tbody>
          {traces.map((t) => (
            <tr key={t.trace_id}>
              <td>{t.start}</td>
              <td>
                <Link href={keep(search, `/traces/${t.trace_id}`)}>{t.trace_id}</Link>
              </td>
              <td>{t.model}</td>
              <td className={t.status === "OK" ? "" : "bad"}>{t.status}</td>
              <td className="num">{(t.duration_ns / 1e6).toFixed(3)}</td>
              <td className="num">{t.spans}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
