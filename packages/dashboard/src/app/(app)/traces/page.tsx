import type { TracesResponse } from "@vigil/monitor";
import { type DataColumn, DataTable } from "@/components/data-table";
import { FORM_STYLE, RangeFields } from "@/components/range-fields";
import { TraceScatter } from "@/components/trace-scatter";
import { api } from "@/lib/api";
import { ModelSelect } from "@/components/model-select";
import { knownModels } from "@/lib/known-models";
import { STATUS_CHOICES, type TraceFilters, traceFiltersOf } from "@/lib/page-params";
import { type Search, keep, rangeBounds, rangeQuery } from "@/lib/range";

export const metadata = { title: "Traces · Vigil" };

/** Traces the table lists, and the slowest ones the chart draws. */
const TABLE_LIMIT = 200;
const CHART_LIMIT = 500;

const COLUMNS: DataColumn[] = [
  { key: "start", header: "start (UTC)", linkKey: "href" },
  { key: "model", header: "model" },
  { key: "status", header: "status", toneKey: "tone" },
  { key: "durationMs", header: "duration (ms)", numeric: true, digits: 3 },
  { key: "spans", header: "spans", numeric: true },
  { key: "requestId", header: "request", linkKey: "requestHref" },
];

const utc = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;

function tracesPath(search: Search, filters: TraceFilters, sort: TraceFilters["sort"], limit: number): string {
  const params = new URLSearchParams(rangeQuery(search));
  if (filters.model) params.set("model", filters.model);
  if (filters.status) params.set("status", filters.status);
  if (filters.minMs !== undefined) params.set("minDurationMs", String(filters.minMs));
  params.set("sort", sort);
  params.set("limit", String(limit));
  return `/api/v1/traces?${params.toString()}`;
}

/** Traces by status, duration and model: a duration-over-time chart of the slowest, and a table newest or slowest first. */
export default async function TracesPage({ searchParams }: { searchParams: Promise<Search> }) {
  const search = await searchParams;
  const filters = traceFiltersOf(search);
  const { fromMs, toMs } = rangeBounds(search);
  const [listed, slowest, models] = await Promise.all([
    api<TracesResponse>(tracesPath(search, filters, filters.sort, TABLE_LIMIT)),
    api<TracesResponse>(tracesPath(search, filters, "slowest", CHART_LIMIT)),
    knownModels(search, filters.model),
  ]);
  const rows = listed.map((t) => ({
    traceId: t.traceId,
    href: keep(search, `/traces/${t.traceId}`),
    start: utc(t.start),
    model: t.model,
    status: t.status,
    tone: t.status === "OK" ? "" : "bad",
    durationMs: t.durationMs,
    spans: t.spans,
    requestId: t.requestId,
    requestHref: t.requestId ? keep(search, `/predictions?requestId=${encodeURIComponent(t.requestId)}`) : "",
  }));
  const dots = slowest.map((t) => ({
    t: Date.parse(t.start),
    durationMs: t.durationMs,
    traceId: t.traceId,
    href: keep(search, `/traces/${t.traceId}`),
    failed: t.status !== "OK",
  }));
  const described = [
    filters.model && `model ${filters.model}`,
    filters.status && `status ${filters.status.toLowerCase()}`,
    filters.minMs !== undefined && `at least ${filters.minMs} ms`,
  ].filter(Boolean);
  return (
    <>
      <h2>Traces</h2>
      <form className="card filters" method="get" style={FORM_STYLE} data-form="traces">
        <RangeFields search={search} />
        <label>
          status
          <select name="status" defaultValue={filters.status?.toLowerCase() ?? ""}>
            <option value="">any</option>
            {Object.entries(STATUS_CHOICES).map(([value, text]) => (
              <option key={value} value={value.toLowerCase()}>
                {text}
              </option>
            ))}
          </select>
        </label>
        <label>
          minimum duration (ms)
          <input name="minMs" type="number" min={0} step="any" defaultValue={filters.minMs ?? ""} inputMode="decimal" />
        </label>
        <ModelSelect models={models} chosen={filters.model} />
        <label>
          order
          <select name="sort" defaultValue={filters.sort}>
            <option value="newest">newest first</option>
            <option value="slowest">slowest first</option>
          </select>
        </label>
        <button type="submit">show</button>
      </form>
      <TraceScatter title={`Trace duration, the ${CHART_LIMIT} slowest`} fromMs={fromMs} toMs={toMs} dots={dots} />
      <section className="card">
        <h3>
          {filters.sort === "slowest" ? "Slowest" : "Newest"} {listed.length === TABLE_LIMIT ? TABLE_LIMIT : ""} traces
          {described.length > 0 && ` (${described.join(", ")})`}
        </h3>
        <DataTable name="traces" columns={COLUMNS} rows={rows} rowKey="traceId" empty="no traces match in this range" />
      </section>
    </>
  );
}
