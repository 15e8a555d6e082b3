import { Link } from "@/components/link";
import { notFound } from "next/navigation";
import type { PredictionDetail } from "@vigil/monitor";
import { api } from "@/lib/api";
import { type Search, keep } from "@/lib/range";

export const metadata = { title: "Prediction · Vigil" };

/** One prediction row: what came in (categorical inputs by name and code), what the model said, the label, and its trace. */
export default async function PredictionPage({ params, searchParams }: { params: Promise<{ requestId: string; row: string }>; searchParams: Promise<Search> }) {
  const [{ requestId, row }, search] = await Promise.all([params, searchParams]);
  if (!/^\d{1,7}$/.test(row)) notFound();
  const p = await api<PredictionDetail>(`/api/v1/predictions/${encodeURIComponent(decodeURIComponent(requestId))}/${row}`);
  const wrong = p.label !== null && p.label !== p.prediction;
  return (
    <section className="card" data-prediction={p.requestId}>
      <h2 style={{ overflowWrap: "anywhere" }}>
        Prediction {p.requestId} row {p.rowIndex}
      </h2>
      <p>
        {p.timestamp.replace("T", " ").replace("Z", "")} UTC: model {p.model} version {p.version}
        {p.role === "canary" && (
          <>
            {" "}
            (<span data-field="role">the rollout&apos;s canary</span>,{" "}
            <Link href={keep(search, `/models/${encodeURIComponent(p.model)}/rollout`)}>rollout</Link>)
          </>
        )}
        , status <b className={p.status === "OK" ? "" : "bad"}>{p.status}</b>
        {p.error && ` (${p.error})`}, latency {p.latencyMs.toFixed(3)} ms (queue {p.queueMs.toFixed(3)}, compute {p.computeMs.toFixed(3)}, batch of{" "}
        {p.batchSize}), client {p.client}
      </p>
      <p>
        predicted <b className={wrong ? "bad" : ""}>{p.prediction}</b> with confidence {p.confidence.toFixed(4)}; scores [
        {p.scores.map((s) => s.toFixed(4)).join(", ")}]; label <b data-field="label">{p.label ?? "none yet"}</b>
        {p.labelledAt && ` (at ${p.labelledAt.replace("T", " ").replace("Z", "")} UTC)`}
        {wrong && <span className="bad"> (wrong)</span>}
      </p>
      <div className="table-scroll">
        <table data-table="inputs">
          <thead>
            <tr>
              <th>input</th>
              <th>category</th>
              <th className="num">value</th>
            </tr>
          </thead>
          <tbody>
            {p.inputs.length > 0
              ? p.inputs.map((input) => (
                  <tr key={input.name} data-input={input.name}>
                    <td>{input.name}</td>
                    <td>{input.category ?? ""}</td>
                    <td className="num">{input.value}</td>
                  </tr>
                ))
              : p.features.map((value, i) => (
                  // The monitor does not know this model: the log's values stand alone, by position.
                  // biome-ignore lint/suspicious/noArrayIndexKey: positions are the only names these values have
                  <tr key={i}>
                    <td>#{i}</td>
                    <td />
                    <td className="num">{value}</td>
                  </tr>
                ))}
          </tbody>
        </table>
      </div>
      {p.shadows.length > 0 && (
        <div className="table-scroll">
          <table data-table="shadows">
            <caption className="muted">
              What the rollout&apos;s shadow candidate answered to this row (the client got version {p.version}&apos;s answer);{" "}
              <Link href={keep(search, `/models/${encodeURIComponent(p.model)}/rollout`)}>the rollout</Link>
            </caption>
            <thead>
              <tr>
                <th scope="col">version</th>
                <th scope="col">status</th>
                <th scope="col">predicted</th>
                <th scope="col" className="num">
                  confidence
                </th>
                <th scope="col" className="num">
                  compute (ms)
                </th>
              </tr>
            </thead>
            <tbody>
              {p.shadows.map((shadow) => (
                <tr key={shadow.version} data-shadow={shadow.version}>
                  <td>{shadow.version}</td>
                  <td className={shadow.status === "OK" ? "" : "bad"}>
                    {shadow.status}
                    {shadow.error && ` (${shadow.error})`}
                  </td>
                  <td className={p.label !== null && shadow.prediction !== p.label ? "bad" : ""}>{shadow.prediction}</td>
                  <td className="num">{shadow.confidence.toFixed(4)}</td>
                  <td className="num">{shadow.computeMs.toFixed(3)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {p.traceId && (
        <p>
          <Link href={keep(search, `/traces/${p.traceId}`)}>the request's trace</Link>
        </p>
      )}
    </section>
  );
}
