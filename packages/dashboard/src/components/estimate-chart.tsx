"use client";

import { Area, CartesianGrid, ComposedChart, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

/** One monitor window: realized accuracy (once labels arrived), the estimate from scores alone and its band. */
export interface EstimatePoint {
  t: string;
  realized: number | null;
  estimated: number | null;
  /** [lower, upper]: the estimate ± 3 standard errors. */
  band: [number, number] | null;
}

/** Estimated accuracy (CBPE) with its sampling-error band, drawn over the realized accuracy of the same windows. */
export function EstimateChartCard({ title, data }: { title: string; data: EstimatePoint[] }) {
  return (
    <figure className="card chart" data-chart={title}>
      <figcaption>{title}</figcaption>
      {data.length === 0 ? (
        <p className="empty">no estimate in this range (the version needs a labelled reference)</p>
      ) : (
        <ResponsiveContainer width="100%" height={220}>
          <ComposedChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="t" fontSize={11} />
            <YAxis fontSize={11} width={64} domain={["auto", "auto"]} />
            <Tooltip />
            <Legend />
            <Area dataKey="band" name="estimate ± 3 SE" stroke="none" fill="#93c5fd" fillOpacity={0.4} isAnimationActive={false} connectNulls />
            <Line dataKey="estimated" name="estimated accuracy" stroke="#2563eb" strokeDasharray="4 3" dot={false} isAnimationActive={false} connectNulls />
            <Line dataKey="realized" name="realized accuracy" stroke="#dc2626" dot={false} isAnimationActive={false} connectNulls />
          </ComposedChart>
        </ResponsiveContainer>
      )}
    </figure>
  );
}
