"use client";

import { CartesianGrid, ComposedChart, Legend, Line, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

export interface CalibrationBin {
  lower: number;
  upper: number;
  rows: number;
  meanConfidence: number;
  accuracy: number;
}

const pct = (v: number) => `${(100 * v).toFixed(0)}%`;

/**
 * Reliability diagram: each confidence bin's accuracy against its mean confidence. The diagonal
 * is perfect calibration; points below it are over-confident.
 */
export function CalibrationChart({ bins, rangeLabel }: { bins: CalibrationBin[]; rangeLabel: string }) {
  const description = `Calibration over ${rangeLabel}: ${bins.map((b) => `confidence ${pct(b.meanConfidence)} gave accuracy ${pct(b.accuracy)} (${b.rows} rows)`).join("; ")}.`;
  return (
    <figure className="card chart" data-chart="Calibration">
      <figcaption>
        Calibration: accuracy against confidence <span className="muted">({rangeLabel})</span>
      </figcaption>
      {bins.length === 0 ? (
        <p className="empty">no labelled predictions in this range</p>
      ) : (
        <div role="img" aria-label={description}>
          <ResponsiveContainer width="100%" height={240}>
            <ComposedChart data={bins} margin={{ top: 8, right: 16, bottom: 16, left: 0 }} accessibilityLayer={false}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis
                dataKey="meanConfidence"
                type="number"
                domain={[0, 1]}
                tickFormatter={pct}
                fontSize={11}
                label={{ value: "mean confidence", position: "insideBottom", offset: -8, fontSize: 11 }}
              />
              <YAxis type="number" domain={[0, 1]} tickFormatter={pct} fontSize={11} width={48} />
              <Tooltip formatter={(value) => pct(Number(value))} labelFormatter={(v) => `confidence ${pct(Number(v))}`} />
              <Legend verticalAlign="top" />
              <ReferenceLine
                segment={[
                  { x: 0, y: 0 },
                  { x: 1, y: 1 },
                ]}
                stroke="#6b7280"
                strokeDasharray="4 3"
                label={{ value: "perfect calibration", fontSize: 10, position: "insideTopLeft" }}
              />
              <Line dataKey="accuracy" name="accuracy per confidence bin" stroke="#1d4ed8" dot={{ r: 3 }} isAnimationActive={false} type="linear" />
            </ComposedChart>
          </ResponsiveContainer>
        </div>
      )}
    </figure>
  );
}
