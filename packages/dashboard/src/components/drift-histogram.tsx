import type { Histogram, ResultPoint } from "@vigil/monitor";
import { BarChartCard } from "@/components/charts";
import { histogramBins } from "@/lib/drift";
import { DriftBadge, DriftFigures } from "./drift-verdict";

/** Reference and current in two neutral colours; a drifted input is marked by its badge, not by the bars' colour. */
const REFERENCE_COLOR = "#64748b";
const CURRENT_COLOR = "#2563eb";

const shares = (counts: number[]) => {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (total === 0 ? 0 : Number(((100 * c) / total).toFixed(1))));
};

/** One input's reference against current distribution (shares of each side's rows), its verdict, and the counts behind the bars. */
export function DriftHistogram({
  histogram,
  point,
  currentLabel,
  highlighted,
}: {
  histogram: Histogram;
  /** The stored drift verdict of this input for the window shown; absent when the monitor did not judge it. */
  point: ResultPoint | undefined;
  /** What "current" covers, in words ("the window ending 15:42 UTC"). */
  currentLabel: string;
  highlighted: boolean;
}) {
  const bins = histogramBins(histogram);
  const reference = shares(bins.map((b) => b.reference));
  const current = shares(bins.map((b) => b.current));
  const currentRows = bins.reduce((a, b) => a + b.current, 0);
  const referenceRows = bins.reduce((a, b) => a + b.reference, 0);
  return (
    <BarChartCard
      id={`histogram-${histogram.feature}`}
      title={`${histogram.feature}: reference against current`}
      highlighted={highlighted}
      unit="%"
      data={bins.map((b, i) => ({ bin: b.name, reference: reference[i]!, current: current[i]! }))}
      series={[
        { key: "reference", name: `reference (${referenceRows} rows)`, color: REFERENCE_COLOR },
        { key: "current", name: `current (${currentRows} rows)`, color: CURRENT_COLOR },
      ]}
      description={`${histogram.feature}: share of rows per ${histogram.kind === "numerical" ? "bin" : "category"}, reference against ${currentLabel}. ${bins
        .map((b, i) => `${b.name}: ${reference[i]}% against ${current[i]}%`)
        .join("; ")}.`}
    >
      <p>
        <DriftBadge point={point} /> current: {currentLabel}
      </p>
      {point && <DriftFigures point={point} />}
      <details>
        <summary>counts</summary>
        <div className="table-scroll">
          <table data-table="histogram-counts" data-feature={histogram.feature}>
            <thead>
              <tr>
                <th>{histogram.kind === "numerical" ? "bin" : "category"}</th>
                <th className="num">reference</th>
                <th className="num">current</th>
              </tr>
            </thead>
            <tbody>
              {bins.map((b) => (
                <tr key={b.name}>
                  <th>{b.name}</th>
                  <td className="num">{b.reference}</td>
                  <td className="num">{b.current}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </BarChartCard>
  );
}
