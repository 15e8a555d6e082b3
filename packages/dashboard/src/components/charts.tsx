"use client";

import type { ReactNode } from "react";
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563"];

export interface Series {
  key: string;
  name: string;
}

export interface BarSeries extends Series {
  /** Fill colour; series without one take the palette's in turn. */
  color?: string;
}

/**
 * Grouped bars over named bins (reference against current shares per bin, for example), with a
 * text alternative for screen readers and a unit on the axis and in the tooltip.
 */
export function BarChartCard({
  title,
  data,
  series,
  unit = "",
  description,
  highlighted = false,
  id,
  children,
}: {
  title: string;
  data: Array<Record<string, number | string>>;
  series: BarSeries[];
  unit?: string;
  /** What the chart shows, in words. */
  description: string;
  /** Drawn with an outline and announced as the current item, for the input a link pointed at. */
  highlighted?: boolean;
  id?: string;
  /** Shown under the chart: badges, figures, the table behind the bars. */
  children?: ReactNode;
}) {
  const withUnit = (v: number) => `${v}${unit}`;
  return (
    <figure
      className="card chart"
      data-chart={title}
      id={id}
      aria-current={highlighted ? "true" : undefined}
      style={highlighted ? { outline: "3px solid #1d4ed8", outlineOffset: 2 } : undefined}
    >
      <figcaption>{title}</figcaption>
      <div role="img" aria-label={description}>
        <ResponsiveContainer width="100%" height={200}>
          <BarChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 0 }} accessibilityLayer={false}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="bin" fontSize={10} />
            <YAxis fontSize={11} width={48} tickFormatter={withUnit} />
            <Tooltip formatter={(value) => withUnit(Number(value))} />
            <Legend />
            {series.map((s, i) => (
              <Bar key={s.key} dataKey={s.key} name={s.name} fill={s.color ?? COLORS[i % COLORS.length]} isAnimationActive={false} />
            ))}
          </BarChart>
        </ResponsiveContainer>
      </div>
      {children}
    </figure>
  );
}
