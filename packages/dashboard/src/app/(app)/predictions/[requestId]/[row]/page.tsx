import Link from "next/link";
import type { PredictionDetail } from "@vigil/monitor";
import { api } from "@/lib/api";

export default async function PredictionPage({ params }: { params: Promise<{ requestId: string; row: string }> }) {
  const { requestId, row } = await params;
  const p = await api<PredictionDetail>(`/api/v1/predictions/${encodeURIComponent(decodeURIComponent(requestId))}/${encodeURIComponent(row)}`);
  return (
    <section className="card" data-prediction={p.requestId}>
      <h2>
        Prediction {p.requestId} row {p.rowIndex}
      </h2>
      <p>
        {p.timestamp}: model {p.model} version {p.version}, status <b className={p.status === "OK" ? "" : "bad"}>{p.status}</b>
        {p.error && ` (${p.error})`}, latency {p.latencyMs.toFixed(3)} ms (queue {p.queueMs.toFixed(3)}, compute {p.computeMs.toFixed(3)}, batch of{" "}
        {p.batchSize}), client {p.client}
      </p>
      <p>
        predicted <b>{p.prediction}</b> with confidence {p.confidence.toFixed(4)}; scores [{p.scores.map((s) => s.toFixed(4)).join(", ")}]; label{" "}
        <b data-field="label">{p.label ?? "none yet"}</b>
        {p.labelledAt && ` (at ${p.labelledAt})`}
      </p>
      <table data-table="inputs">
        <thead>
          <tr>
            <th>input</th>
            <th className="num">value</th>
          </tr>
        </thead>
        <tbody>
          {p.features.map((v, i) => {
            const name = p.featureNames[i] ?? `#${i}`;
            return (
              <tr key={name}>
                <td>{name}</td>
                <td className="num">{v}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {p.traceId && (
        <p>
          <Link href={`/traces/${p.traceId}`}>the request's trace</Link>
        </p>
      )}
    </section>
  );
}
