import Link from "next/link";
import type { OverviewResponse } from "@vigil/monitor";
import { api } from "@/lib/api";
import { type Search, keep, rangeQuery } from "@/lib/range";

export default async function ModelsPage({ searchParams }: { searchParams: Promise<Search> }) {
  const search = await searchParams;
  const { totals } = await api<OverviewResponse>(`/api/v1/overview?${rangeQuery(search)}`);
  return (
    <section className="card">
      <h2>Models with traffic</h2>
      {totals.models.length === 0 ? (
        <p className="empty">no traffic in this range</p>
      ) : (
        <ul>
          {totals.models.map((m) => (
            <li key={`${m.model}:${m.version}`}>
              <Link href={keep(search, `/models/${encodeURIComponent(m.model)}`)}>{m.model}</Link> version {m.version}: {m.requests} requests —{" "}
              <Link href={keep(search, `/models/${encodeURIComponent(m.model)}/drift?version=${encodeURIComponent(m.version)}`)}>drift</Link>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
