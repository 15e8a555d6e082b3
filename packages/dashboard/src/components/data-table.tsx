"use client";

import {
  type ColumnDef,
  columnFilteringFeature,
  createFilteredRowModel,
  createSortedRowModel,
  filterFn_includesString,
  globalFilteringFeature,
  rowSortingFeature,
  sortFn_alphanumeric,
  sortFn_basic,
  tableFeatures,
  useTable,
} from "@tanstack/react-table";
import { Link } from "@/components/link";
import { useMemo, useState } from "react";

/** What a cell holds; rows cross from server pages to this client component, so they are plain data. */
export type CellValue = string | number | null;
export type DataRow = Record<string, CellValue>;

export interface DataColumn {
  /** The row field shown in this column. */
  key: string;
  header: string;
  /** Right-aligned and sorted as a number. */
  numeric?: boolean;
  /** Decimals a number is shown with. */
  digits?: number;
  /** The row field holding the address this cell links to. */
  linkKey?: string;
  /** The row field holding this cell's class name ("bad" marks a failure). */
  toneKey?: string;
}

export interface DataTableProps {
  /** Names the table for tests and styles: `data-table` on the element. */
  name: string;
  columns: DataColumn[];
  rows: DataRow[];
  /** The row field that identifies a row. */
  rowKey: string;
  /** Text when there are no rows at all. */
  empty?: string;
}

const features = tableFeatures({
  columnFilteringFeature,
  rowSortingFeature,
  globalFilteringFeature,
  filteredRowModel: createFilteredRowModel(),
  sortedRowModel: createSortedRowModel(),
  filterFns: { includesString: filterFn_includesString },
  sortFns: { alphanumeric: sortFn_alphanumeric, basic: sortFn_basic },
});

const shown = (value: CellValue, digits: number | undefined) =>
  value === null ? "" : typeof value === "number" && digits !== undefined ? value.toFixed(digits) : String(value);

/** A header that reads as a header and sorts when clicked. */
const SORT_BUTTON = { background: "none", border: 0, padding: 0, font: "inherit", fontWeight: 600, color: "inherit", cursor: "pointer" } as const;

const ARIA_SORT = { asc: "ascending", desc: "descending" } as const;

/**
 * A table of rows already loaded: click a header to sort by it (again to reverse), type to keep
 * the rows that contain the text in any column. Rows start in the order given, so a server-side
 * order (newest first, slowest first) is what the reader sees until they choose another.
 */
export function DataTable({ name, columns, rows, rowKey, empty = "no rows" }: DataTableProps) {
  const [filter, setFilter] = useState("");
  const columnDefs = useMemo(
    (): ColumnDef<typeof features, DataRow>[] =>
      columns.map((c) => ({
        id: c.key,
        accessorFn: (row: DataRow) => row[c.key] ?? null,
        header: c.header,
        sortFn: c.numeric ? "basic" : "alphanumeric",
        sortDescFirst: c.numeric === true,
        sortUndefined: "last",
      })),
    [columns],
  );
  const table = useTable({
    features,
    columns: columnDefs,
    data: rows,
    getRowId: (row: DataRow) => String(row[rowKey]),
    globalFilterFn: "includesString",
    state: { globalFilter: filter },
    onGlobalFilterChange: setFilter,
  });
  const visible = table.getRowModel().rows;
  const byKey = new Map(columns.map((c) => [c.key, c]));

  return (
    <div className="data-table">
      {rows.length > 0 && (
        <label className="table-filter">
          filter rows <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} data-filter={name} />
          <span className="muted">
            {" "}
            {visible.length} of {rows.length}
          </span>
        </label>
      )}
      <div className="table-scroll">
        <table data-table={name}>
          <thead>
            {table.getHeaderGroups().map((group) => (
              <tr key={group.id}>
                {group.headers.map((header) => {
                  const column = byKey.get(header.column.id)!;
                  const sorted = header.column.getIsSorted();
                  return (
                    <th key={header.id} className={column.numeric ? "num" : undefined} aria-sort={sorted ? ARIA_SORT[sorted] : undefined}>
                      <button type="button" className="sort" style={SORT_BUTTON} onClick={header.column.getToggleSortingHandler()}>
                        {column.header}
                        {sorted === "asc" ? " ▲" : sorted === "desc" ? " ▼" : ""}
                      </button>
                    </th>
                  );
                })}
              </tr>
            ))}
          </thead>
          <tbody>
            {visible.map((row) => (
              <tr key={row.id}>
                {columns.map((c) => {
                  const value = row.original[c.key] ?? null;
                  const href = c.linkKey ? row.original[c.linkKey] : null;
                  const tone = c.toneKey ? row.original[c.toneKey] : null;
                  const text = shown(value, c.digits);
                  return (
                    <td key={c.key} className={[c.numeric ? "num" : "", typeof tone === "string" ? tone : ""].join(" ").trim() || undefined}>
                      {typeof href === "string" && href !== "" ? (
                        // Hundreds of rows: prefetching each would cost the monitor API a page render per link.
                        <Link href={href}>{text}</Link>
                      ) : (
                        text
                      )}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {rows.length === 0 && <p className="empty">{empty}</p>}
    </div>
  );
}
