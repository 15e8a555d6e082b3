import { Link } from "@/components/link";
import { notFound } from "next/navigation";
import type { TraceResponse, TraceSpan } from "@vigil/monitor";
import { api } from "@/lib/api";
import { type Search, keep } from "@/lib/range";

export const metadata = { title: "Trace · Vigil" };

const TRACE_ID = /^[0-9a-f]{32}$/;
/** Tick spacings a ruler may use, in milliseconds. */
const STEPS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 60_000];

function flatten(spans: TraceSpan[], depth = 0): Array<{ span: TraceSpan; depth: number }> {
  return spans.flatMap((span) => [{ span, depth }, ...flatten(span.children, depth + 1)]);
}

/** Ruler ticks from 0 to the trace's length: the smallest step that needs at most 8 of them. */
function rulerTicks(totalMs: number): number[] {
  const step = STEPS.find((s) => totalMs / s <= 8) ?? STEPS[STEPS.length - 1]!;
  return Array.from({ length: Math.floor(totalMs / step + 1e-9) + 1 }, (_, i) => Number((i * step).toPrecision(6)));
}

const percent = (part: number, whole: number) => `${((100 * part) / whole).toFixed(3)}%`;
const ms = (v: number) => (v >= 100 ? v.toFixed(1) : v >= 1 ? v.toFixed(3) : v.toFixed(4));

/** One trace as a waterfall on a millisecond ruler, each span's attributes and events, and the prediction rows it logged. */
export default async function TracePage({ params, searchParams }: { params: Promise<{ id: string }>; searchParams: Promise<Search> }) {
  const [{ id }, search] = await Promise.all([params, searchParams]);
  if (!TRACE_ID.test(id)) notFound();
  const trace = await api<TraceResponse>(`/api/v1/traces/${id}`);
  const rows = flatten(trace.spans);
  const total = Math.max(trace.durationMs, 1e-6);
  const ticks = rulerTicks(total);
  return (
    <>
      <section className="card">
        <h2 style={{ overflowWrap: "anywhere" }}>Trace {trace.traceId}</h2>
        <p>
          started {trace.start.replace("T", " ").replace("Z", "")} UTC, {ms(trace.durationMs)} ms, {rows.length} spans
        </p>
        {trace.predictions.length === 0 ? (
          <p className="empty">The prediction log has no row for this trace (a refused request logs one row; one that never reached a model, none).</p>
        ) : (
          <p data-field="predictions" style={{ overflowWrap: "anywhere" }}>
            Predictions:{" "}
            {trace.predictions.map((p, i) => (
              <span key={`${p.requestId}:${p.rowIndex}`}>
                {i > 0 && ", "}
                <Link href={keep(search, `/predictions/${encodeURIComponent(p.requestId)}/${p.rowIndex}`)}>
                  {p.requestId} row {p.rowIndex}
                </Link>{" "}
                <span className={p.status === "OK" ? "muted" : "bad"}>
                  ({p.model} v{p.version}, {p.status})
                </span>
              </span>
            ))}
          </p>
        )}
      </section>
      <section className="card">
        <h3>Waterfall</h3>
        <div className="table-scroll">
          <table data-table="waterfall">
            <thead>
              <tr>
                <th>span</th>
                <th className="num">start (ms)</th>
                <th className="num">duration (ms)</th>
                <th style={{ minWidth: 160, width: "50%" }}>
                  <div className="ruler" data-ruler style={{ position: "relative", height: 16, overflow: "hidden" }}>
                    {ticks.map((t) => (
                      <span
                        key={t}
                        data-tick={t}
                        style={{
                          position: "absolute",
                          left: percent(t, total),
                          borderLeft: "1px solid #6b7280",
                          paddingLeft: 2,
                          fontSize: 11,
                          fontWeight: 400,
                          whiteSpace: "nowrap",
                        }}
                      >
                        {t} ms
                      </span>
                    ))}
                  </div>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map(({ span, depth }) => (
                <tr key={span.spanId} data-span={span.name}>
                  <td style={{ paddingLeft: 8 + depth * 16, overflowWrap: "anywhere" }}>
                    <details>
                      <summary className={span.statusCode === "Error" ? "bad" : ""}>{span.name}</summary>
                      <dl className="span-details">
                        <div>
                          <dt>kind</dt>
                          <dd>{span.kind}</dd>
                        </div>
                        <div>
                          <dt>status</dt>
                          <dd>
                            {span.statusCode}
                            {span.statusMessage && `: ${span.statusMessage}`}
                          </dd>
                        </div>
                        {Object.entries(span.attributes).map(([key, value]) => (
                          <div key={key} data-attribute={key}>
                            <dt>{key}</dt>
                            <dd>{value}</dd>
                          </div>
                        ))}
                        {span.events.map((event) => (
                          <div key={`${event.time}${event.name}`} data-event={event.name}>
                            <dt>event at {ms(event.offsetMs)} ms</dt>
                            <dd>
                              {event.name}
                              {Object.keys(event.attributes).length > 0 &&
                                ` (${Object.entries(event.attributes)
                                  .map(([k, v]) => `${k}=${v}`)
                                  .join(", ")})`}
                            </dd>
                          </div>
                        ))}
                      </dl>
                    </details>
                  </td>
                  <td className="num">{ms(span.startOffsetMs)}</td>
                  <td className="num">{ms(span.durationMs)}</td>
                  <td>
                    <div
                      className="span-bar"
                      title={`${span.name}: ${ms(span.durationMs)} ms from ${ms(span.startOffsetMs)} ms`}
                      style={{ marginLeft: percent(span.startOffsetMs, total), width: `max(2px, ${percent(span.durationMs, total)})` }}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}
