import type { TraceResponse, TraceSpan as Span } from "@vigil/monitor";
import { api } from "@/lib/api";

const startNs = (s: Span) => {
  const [seconds, fraction = ""] = s.start.split(".");
  return Date.parse(`${seconds!.replace(" ", "T")}Z`) * 1e6 + Number(fraction.padEnd(9, "0").slice(0, 9));
};

function flatten(spans: Span[], depth = 0): Array<{ span: Span; depth: number }> {
  return spans.flatMap((span) => [{ span, depth }, ...flatten(span.children, depth + 1)]);
}

/** One trace as a waterfall: each span's bar placed by its start and length within the trace. */
export default async function TracePage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const trace = await api<TraceResponse>(`/api/v1/traces/${encodeURIComponent(id)}`);
  const rows = flatten(trace.spans);
  const begin = Math.min(...rows.map((r) => startNs(r.span)));
  const end = Math.max(...rows.map((r) => startNs(r.span) + r.span.duration_ns));
  const width = Math.max(1, end - begin);
  return (
    <section className="card">
      <h2>Trace {trace.traceId}</h2>
      <table data-table="waterfall">
        <thead>
          <tr>
            <th>span</th>
            <th className="num">ms</th>
            <th style={{ width: "50%" }}>timeline</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ span, depth }) => (
            <tr key={span.span_id}>
              <td style={{ paddingLeft: 8 + depth * 16 }} className={span.status_code === "Error" ? "bad" : ""}>
                {span.name}
              </td>
              <td className="num">{(span.duration_ns / 1e6).toFixed(3)}</td>
              <td>
                <div
                  className="span-bar"
                  style={{ marginLeft: `${((startNs(span) - begin) / width) * 100}%`, width: `${Math.max(0.5, (span.duration_ns / width) * 100)}%` }}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
