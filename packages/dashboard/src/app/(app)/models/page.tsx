import { Link } from "@/components/link";
import type { ModelsResponse, OverviewResponse } from "@vigil/monitor";
import { api } from "@/lib/api";
import { type Search, keep, percent, rangeQuery } from "@/lib/range";

export const metadata = { title: "Models · Vigil" };

export default async function ModelsPage({ searchParams }: { searchParams: Promise<Search> }) {
  const search = await searchParams;
  const [{ models }, overview] = await Promise.all([api<ModelsResponse>("/api/v1/models"), api<OverviewResponse>(`/api/v1/overview?${rangeQuery(search)}`)]);
  const traffic = overview.totals.models;
  const trafficOf = (model: string, version: string) => traffic.find((t) => t.model === model && t.version === version);
  // Requests for a model or version the repository does not hold were refused; they are counted here, never listed as models.
  // A request refused before a version was chosen (version "") of a model the repository holds is that model's error, not a phantom.
  const held = (model: string, version: string) => models.some((m) => m.name === model && (version === "" || m.versions.some((v) => v.version === version)));
  const refused = traffic.filter((t) => !held(t.model, t.version));
  const href = (model: string, version: string, page = "") =>
    keep(search, `/models/${encodeURIComponent(model)}${page}?version=${encodeURIComponent(version)}`);
  return (
    <>
      <h2>Models</h2>
      <section className="card">
        <h3>In the model repository</h3>
        {models.length === 0 ? (
          <p className="empty">the model repository holds no models</p>
        ) : (
          <div className="table-scroll">
            <table data-table="models">
              <thead>
                <tr>
                  <th>model</th>
                  <th>version</th>
                  <th>kind</th>
                  <th className="num">requests in range</th>
                  <th className="num">server error rate</th>
                  <th>last served (UTC)</th>
                  <th>drift</th>
                </tr>
              </thead>
              <tbody>
                {models.flatMap((m) =>
                  m.versions.map((v) => {
                    const t = trafficOf(m.name, v.version);
                    return (
                      <tr key={`${m.name}:${v.version}`} data-model={m.name} data-version={v.version}>
                        <th>
                          <Link href={href(m.name, v.version)}>{m.name}</Link>
                        </th>
                        <td>
                          {v.version}
                          {v.version === m.servingVersion ? " (serving)" : ""}
                        </td>
                        <td>{m.classifier ? `classifier (${m.classes.length} classes)` : "regression"}</td>
                        <td className="num">{t ? t.requests : 0}</td>
                        <td className="num">{t && t.requests > 0 ? percent(t.errors / t.requests, 2) : "-"}</td>
                        <td>{v.lastServedAt ? v.lastServedAt.replace("T", " ").slice(0, 16) : "never"}</td>
                        <td>
                          {v.reference ? <Link href={href(m.name, v.version, "/drift")}>drift</Link> : <span className="muted">no reference profile</span>}
                        </td>
                      </tr>
                    );
                  }),
                )}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section className="card" data-section="refused">
        <h3>Refused requests for models or versions the repository does not hold</h3>
        {refused.length === 0 ? (
          <p className="empty">none in this range</p>
        ) : (
          <>
            <p className="muted">These requests named something that is not a model version here, so the server refused them; they are not models.</p>
            <div className="table-scroll">
              <table data-table="refused">
                <thead>
                  <tr>
                    <th>requested model</th>
                    <th>requested version</th>
                    <th className="num">refused requests</th>
                  </tr>
                </thead>
                <tbody>
                  {refused.map((t) => (
                    <tr key={`${t.model}:${t.version}`}>
                      <td>{t.model}</td>
                      <td>{t.version === "" ? "(none named)" : t.version}</td>
                      <td className="num">{t.requests}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </>
        )}
      </section>
    </>
  );
}
