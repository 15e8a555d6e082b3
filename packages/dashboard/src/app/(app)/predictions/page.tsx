import { Link } from "@/components/link";
import type { PredictionPageResponse } from "@vigil/monitor";
import { type DataColumn, DataTable } from "@/components/data-table";
import { FORM_STYLE, RangeFields } from "@/components/range-fields";
import { api } from "@/lib/api";
import { ModelSelect } from "@/components/model-select";
import { knownModels } from "@/lib/known-models";
import { STATUS_CHOICES, predictionFiltersOf } from "@/lib/page-params";
import { type Search, keep, rangeQuery } from "@/lib/range";

export const metadata = { title: "Predictions · Vigil" };

const PAGE_SIZE = 50;

const COLUMNS: DataColumn[] = [
  { key: "time", header: "time (UTC)" },
  { key: "requestId", header: "request", linkKey: "href" },
  { key: "model", header: "model" },
  { key: "status", header: "status", toneKey: "statusTone" },
  { key: "prediction", header: "prediction", toneKey: "predictionTone" },
  { key: "confidence", header: "confidence", numeric: true, digits: 3 },
  { key: "label", header: "label" },
  { key: "latencyMs", header: "latency (ms)", numeric: true, digits: 3 },
  { key: "trace", header: "trace", linkKey: "traceHref" },
];

/** The prediction log, a page at a time: by model, version, status, request id, label, and wrong predictions only. */
export default async function PredictionsPage({ searchParams }: { searchParams: Promise<Search> }) {
  const search = await searchParams;
  const filters = predictionFiltersOf(search);
  const params = new URLSearchParams(rangeQuery(search));
  for (const key of ["model", "version", "status", "requestId", "hasLabel", "cursor"] as const) {
    const value = filters[key];
    if (value !== undefined) params.set(key, value);
  }
  if (filters.wrong) params.set("wrong", "true");
  params.set("limit", String(PAGE_SIZE));
  const [page, models] = await Promise.all([api<PredictionPageResponse>(`/api/v1/predictions?${params.toString()}`), knownModels(search, filters.model)]);
  const next = new URLSearchParams(Object.entries(search).filter((e): e is [string, string] => typeof e[1] === "string"));
  if (page.nextCursor) next.set("cursor", page.nextCursor);
  const rows = page.rows.map((r) => ({
    key: `${r.requestId}:${r.rowIndex}`,
    time: `${r.timestamp.slice(0, 10)} ${r.timestamp.slice(11, 26)}`,
    requestId: r.rowIndex === 0 ? r.requestId : `${r.requestId} row ${r.rowIndex}`,
    href: keep(search, `/predictions/${encodeURIComponent(r.requestId)}/${r.rowIndex}`),
    model: `${r.model} v${r.version}${r.role === "canary" ? " (canary)" : ""}`,
    status: r.status,
    statusTone: r.status === "OK" ? "" : "bad",
    prediction: r.prediction,
    predictionTone: r.label !== null && r.label !== r.prediction ? "bad" : "",
    confidence: r.confidence,
    label: r.label,
    latencyMs: r.latencyMs,
    trace: r.traceId ? "trace" : "",
    traceHref: r.traceId ? keep(search, `/traces/${r.traceId}`) : "",
  }));
  return (
    <>
      <h2>Predictions</h2>
      <form className="card filters" method="get" style={FORM_STYLE} data-form="predictions">
        <RangeFields search={search} />
        <ModelSelect models={models} chosen={filters.model} />
        <label>
          version <input name="version" defaultValue={filters.version ?? ""} size={4} />
        </label>
        <label>
          status
          <select name="status" defaultValue={filters.status ?? ""}>
            <option value="">any</option>
            {Object.entries(STATUS_CHOICES).map(([value, text]) => (
              <option key={value} value={value}>
                {text}
              </option>
            ))}
          </select>
        </label>
        <label>
          request id <input name="requestId" defaultValue={filters.requestId ?? ""} size={24} />
        </label>
        <label>
          label
          <select name="hasLabel" defaultValue={filters.hasLabel ?? ""}>
            <option value="">any</option>
            <option value="true">labelled</option>
            <option value="false">not labelled</option>
          </select>
        </label>
        <label className="inline">
          <input type="checkbox" name="wrong" value="true" defaultChecked={filters.wrong} /> wrong predictions only
        </label>
        <button type="submit">search</button>
      </form>
      <section className="card">
        <DataTable name="predictions" columns={COLUMNS} rows={rows} rowKey="key" empty="no predictions match" />
        {page.nextCursor && <Link href={`/predictions?${next.toString()}`}>next page</Link>}
      </section>
    </>
  );
}
