"use client";

import { useRouter } from "next/navigation";
import { CartesianGrid, Legend, ResponsiveContainer, Scatter, ScatterChart, Tooltip, XAxis, YAxis } from "recharts";
import { utcLabel } from "./time-chart";

/** One trace as a dot: when it started (epoch ms), how long it took, and where its page is. */
export interface TraceDot {
  t: number;
  durationMs: number;
  traceId: string;
  href: string;
  failed: boolean;
}

export interface TraceScatterProps {
  title: string;
  /** The chosen range: the time axis spans it whatever the traces cover. */
  fromMs: number;
  toMs: number;
  dots: TraceDot[];
}

/** Ticks spread over the whole range: recharts would place them over the data alone. */
const TICKS = 7;

const ms = (value: number) => `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)} ms`;

/**
 * Trace durations over time on the chosen range, failed calls apart from the rest; a click on a
 * dot opens that trace. The table beside it lists the same traces as links for keyboards.
 */
export function TraceScatter({ title, fromMs, toMs, dots }: TraceScatterProps) {
  const router = useRouter();
  const span = toMs - fromMs;
  const ok = dots.filter((d) => !d.failed);
  const failed = dots.filter((d) => d.failed);
  const slowest = dots.reduce((max, d) => Math.max(max, d.durationMs), 0);
  const description = `${title}: ${dots.length} traces from ${new Date(fromMs).toISOString()} to ${new Date(toMs).toISOString()} (UTC), ${failed.length} failed, the slowest ${ms(slowest)}. The table lists them.`;
  const open = (item: { payload?: unknown }) => {
    const dot = item.payload as TraceDot | undefined;
    if (dot) router.push(dot.href);
  };
  return (
    <figure className="card chart" data-chart={title}>
      <figcaption>
        {title} <span className="muted">(UTC, ms; click a dot to open its trace)</span>
      </figcaption>
      {dots.length === 0 ? (
        <p className="empty">no traces in this range</p>
      ) : (
        <div role="img" aria-label={description}>
          <ResponsiveContainer width="100%" height={240}>
            <ScatterChart margin={{ top: 8, right: 16, bottom: 0, left: 0 }} accessibilityLayer={false}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis
                dataKey="t"
                type="number"
                scale="time"
                domain={[fromMs, toMs]}
                allowDataOverflow
                ticks={Array.from({ length: TICKS }, (_, i) => fromMs + (i * span) / (TICKS - 1))}
                tickFormatter={(t: number) => utcLabel(t, span)}
                fontSize={11}
                name="start"
              />
              <YAxis dataKey="durationMs" type="number" name="duration" fontSize={11} width={64} tickFormatter={ms} />
              <Tooltip
                cursor={{ strokeDasharray: "3 3" }}
                formatter={(value, name) =>
                  name === "start" ? `${new Date(Number(value)).toISOString().replace("T", " ").slice(0, 23)} UTC` : ms(Number(value))
                }
              />
              <Legend />
              <Scatter name="ok" data={ok} fill="#1d4ed8" isAnimationActive={false} onClick={open} cursor="pointer" />
              <Scatter name="failed" data={failed} fill="#b91c1c" shape="cross" isAnimationActive={false} onClick={open} cursor="pointer" />
            </ScatterChart>
          </ResponsiveContainer>
        </div>
      )}
    </figure>
  );
}
