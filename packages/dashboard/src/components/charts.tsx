"use client";

import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563"];

export interface Series {
  key: string;
  name: string;
}

/** A time series chart; `data` rows hold `t` (label) and one number per series key. */
export function LineChartCard({
  title,
  data,
  series,
  unit = "",
}: {
  title: string;
  data: Array<Record<string, number | string | null>>;
  series: Series[];
  unit?: string;
}) {
  return (
    <figure className="card chart" data-chart={title}>
      <figcaption>{title}</figcaption>
      {data.length === 0 ? (
        <p className="empty">no data in this range</p>
      ) : (
        <ResponsiveContainer width="100%" height={220}>
          <LineChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="t" fontSize={11} />
            <YAxis fontSize={11} unit={unit} width={64} />
            <Tooltip />
            <Legend />
            {series.map((s, i) => (
              <Line
                key={s.key}
                type="monotone"
                dataKey={s.key}
                name={s.name}
                stroke={COLORS[i % COLORS.length]}
                dot={false}
                isAnimationActive={false}
                connectNulls
              />
            ))}
          </LineChart>
        </ResponsiveContainer>
      )}
    </figure>
  );
}

/** Grouped bars, e.g. reference against current shares per bin. */
export function BarChartCard({ title, data, series }: { title: string; data: Array<Record<string, number | string>>; series: Series[] }) {
  return (
    <figure className="card chart" data-chart={title}>
      <figcaption>{title}</figcaption>
      <ResponsiveContainer width="100%" height={200}>
        <BarChart data={data} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="bin" fontSize={10} />
          <YAxis fontSize={11} width={48} />
          <Tooltip />
          <Legend />
          {series.map((s, i) => (
            <Bar key={s.key} dataKey={s.key} name={s.name} fill={COLORS[i % COLORS.length]} isAnimationActive={false} />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}
