"use client";

import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { type RefObject, type SyntheticEvent, useEffect, useRef, useState } from "react";
import {
  Area,
  CartesianGrid,
  ComposedChart,
  type InverseScaleFunction,
  Legend,
  Line,
  ReferenceArea,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  useXAxisInverseScale,
  XAxis,
  YAxis,
} from "recharts";

const COLORS = ["#1d4ed8", "#b91c1c", "#15803d", "#7e22ce", "#c2410c", "#0e7490", "#374151"];

export interface TimeSeries {
  key: string;
  name: string;
  dashed?: boolean;
}

/** A horizontal line at a value that means something: an objective, an alert rule's threshold. */
export interface TimeThreshold {
  value: number;
  label: string;
}

/** A vertical line at a moment: an alert that fired, a version that started serving, a window whose inputs drifted. */
export interface TimeMarker {
  t: number;
  label: string;
  tone?: "alert" | "deploy" | "drift";
}

const MARKER_COLORS = { alert: "#b91c1c", deploy: "#0e7490", drift: "#7e22ce" } as const;

/** A shaded band between two series keys (for example an estimate ± 3 SE). */
export interface TimeBand {
  lowerKey: string;
  upperKey: string;
  name: string;
}

/** One point in time: `t` is epoch milliseconds (a bucket's or window's start), then one value per series key. */
export type TimePoint = { t: number } & Record<string, number | null>;

export interface TimeChartProps {
  title: string;
  /** Unit of the values, shown on the axis and in the tooltip: "ms", "req/s", "%", "×"… ("" for a ratio). */
  unit: string;
  /** The chosen range: the x axis spans it whatever the data covers. */
  fromMs: number;
  toMs: number;
  points: TimePoint[];
  series: TimeSeries[];
  /**
   * Width of a bucket. A bucket with no point is a gap in the line; without a step, a gap is where
   * two points lie more than 1.5 times the usual spacing apart.
   */
  stepMs?: number;
  /** Start of the bucket still being filled: shaded and labelled, so its low count is not read as a collapse. */
  partialFromMs?: number;
  thresholds?: TimeThreshold[];
  markers?: TimeMarker[];
  band?: TimeBand;
  yDomain?: [number | "auto", number | "auto"];
  /** What the chart says in words, for screen readers; the default names the series and the range. */
  description?: string;
  /** Text when there are no points at all. */
  empty?: string;
}

const pad = (n: number) => String(n).padStart(2, "0");
/** Axis and tooltip times are UTC, and every chart says so. */
export function utcLabel(ms: number, spanMs: number): string {
  const d = new Date(ms);
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  if (spanMs <= 86_400_000) return spanMs <= 900_000 ? `${time}:${pad(d.getUTCSeconds())}` : time;
  return `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${time}`;
}

const format = (value: number, unit: string) => {
  const digits = value === 0 || Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : Math.abs(value) >= 1 ? 2 : 3;
  return `${value.toFixed(digits)}${unit === "" ? "" : unit === "%" ? "%" : ` ${unit}`}`;
};

/** The usual distance between neighbouring points: their median gap. */
function usualSpacing(points: TimePoint[]): number | undefined {
  const gaps = points.slice(1).map((p, i) => p.t - points[i]!.t);
  if (gaps.length === 0) return undefined;
  gaps.sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)];
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const TICK_STEPS = [
  ...[1, 2, 5, 10, 15, 30].map((n) => n * SECOND),
  ...[1, 2, 5, 10, 15, 30].map((n) => n * MINUTE),
  ...[1, 2, 3, 6, 12].map((n) => n * HOUR),
  ...[1, 2, 7].map((n) => n * DAY),
];

/**
 * Ticks on round UTC times (every 10 minutes, every hour, each midnight...) across the whole
 * range, at most `most` of them, so the axis reads the chosen range and not the data's extent.
 */
export function timeTicks(fromMs: number, toMs: number, most = 7): number[] {
  const span = toMs - fromMs;
  const step = TICK_STEPS.find((s) => span / s <= most) ?? Math.ceil(span / most / DAY) * DAY;
  const ticks: number[] = [];
  for (let t = Math.ceil(fromMs / step) * step; t <= toMs; t += step) ticks.push(t);
  return ticks;
}

/** Inserts an empty point wherever a bucket is missing, so the line breaks there instead of bridging it. */
export function withGaps(points: TimePoint[], stepMs: number | undefined): TimePoint[] {
  const sorted = [...points].sort((a, b) => a.t - b.t);
  const spacing = stepMs ?? usualSpacing(sorted);
  if (spacing === undefined || spacing <= 0) return sorted;
  const out: TimePoint[] = [];
  for (const point of sorted) {
    const previous = out[out.length - 1];
    if (previous && point.t - previous.t > 1.5 * spacing) out.push({ t: previous.t + spacing } as TimePoint);
    out.push(point);
  }
  return out;
}

/** Hands the chart's pixel-to-time function to the component around it (recharts offers it only inside the chart). */
function InverseScaleProbe({ into }: { into: RefObject<InverseScaleFunction | undefined> }) {
  const invert = useXAxisInverseScale();
  useEffect(() => {
    into.current = invert;
  }, [into, invert]);
  return null;
}

/** A value with no neighbour on either side draws no line segment, so it gets a dot of its own. */
function isolated(rows: Array<Record<string, unknown>>, key: string, i: number): boolean {
  return rows[i]?.[key] != null && rows[i - 1]?.[key] == null && rows[i + 1]?.[key] == null;
}

/**
 * A time series on a real time axis: the domain is the chosen range, missing buckets are gaps,
 * lines are straight between points, the unfinished bucket is marked, and values carry units.
 * Dragging across the plot zooms the whole dashboard to that interval (an absolute range in the URL).
 */
export function TimeChart(props: TimeChartProps) {
  const { title, unit, fromMs, toMs, series, thresholds = [], markers = [], band, yDomain = ["auto", "auto"] } = props;
  const router = useRouter();
  const pathname = usePathname();
  const search = useSearchParams();
  const [dragFrom, setDragFrom] = useState<number | null>(null);
  const [dragTo, setDragTo] = useState<number | null>(null);
  const plotRef = useRef<HTMLDivElement>(null);
  const invertX = useRef<InverseScaleFunction | undefined>(undefined);
  const span = toMs - fromMs;
  const data = withGaps(props.points, props.stepMs).map((p) =>
    band && p[band.lowerKey] != null && p[band.upperKey] != null ? { ...p, __band: [p[band.lowerKey], p[band.upperKey]] } : p,
  );
  const description =
    props.description ??
    `${title}: ${series.map((s) => s.name).join(", ")}${unit ? ` in ${unit}` : ""}, from ${new Date(fromMs).toISOString()} to ${new Date(toMs).toISOString()} (UTC), ${props.points.length} points.`;

  const zoom = () => {
    if (dragFrom !== null && dragTo !== null && Math.abs(dragTo - dragFrom) > span / 200) {
      const params = new URLSearchParams(search.toString());
      params.delete("range");
      params.set("from", new Date(Math.min(dragFrom, dragTo)).toISOString());
      params.set("to", new Date(Math.max(dragFrom, dragTo)).toISOString());
      router.push(`${pathname}?${params.toString()}`);
    }
    setDragFrom(null);
    setDragTo(null);
  };
  // The time under the pointer, read from the axis rather than the nearest point, so a drag can start or end where there is no data.
  const at = (event: SyntheticEvent): number | null => {
    const plot = plotRef.current;
    const clientX = (event as SyntheticEvent<Element, MouseEvent>).nativeEvent?.clientX;
    if (!plot || !invertX.current || typeof clientX !== "number") return null;
    const value = Number(invertX.current(clientX - plot.getBoundingClientRect().left));
    return Number.isFinite(value) ? Math.min(toMs, Math.max(fromMs, value)) : null;
  };

  return (
    <figure className="card chart" data-chart={title}>
      <figcaption>
        {title} <span className="muted">(UTC{unit ? `, ${unit}` : ""})</span>
      </figcaption>
      {props.points.length === 0 ? (
        <p className="empty">{props.empty ?? "no data in this range"}</p>
      ) : (
        <div role="img" aria-label={description} ref={plotRef}>
          <ResponsiveContainer width="100%" height={220}>
            <ComposedChart
              data={data}
              margin={{ top: 8, right: 16, bottom: 0, left: 0 }}
              accessibilityLayer={false}
              onMouseDown={(_, event) => setDragFrom(at(event))}
              onMouseMove={(_, event) => dragFrom !== null && setDragTo(at(event))}
              onMouseUp={zoom}
            >
              <InverseScaleProbe into={invertX} />
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis
                dataKey="t"
                type="number"
                scale="time"
                domain={[fromMs, toMs]}
                allowDataOverflow
                ticks={timeTicks(fromMs, toMs)}
                tickFormatter={(ms: number) => utcLabel(ms, span)}
                fontSize={11}
              />
              {/* The caption names the unit; ticks carry only numbers, which fit the axis's width. */}
              <YAxis fontSize={11} width={56} domain={yDomain} tickFormatter={(v: number) => format(v, "")} />
              <Tooltip
                labelFormatter={(ms) => `${new Date(Number(ms)).toISOString().replace("T", " ").slice(0, 19)} UTC`}
                formatter={(value) => (Array.isArray(value) ? value.map((v) => format(Number(v), unit)).join(" – ") : format(Number(value), unit))}
              />
              <Legend />
              {band && <Area dataKey="__band" name={band.name} stroke="none" fill="#93c5fd" fillOpacity={0.4} isAnimationActive={false} />}
              {series.map((s, i) => (
                <Line
                  key={s.key}
                  type="linear"
                  dataKey={s.key}
                  name={s.name}
                  stroke={COLORS[i % COLORS.length]}
                  strokeDasharray={s.dashed ? "4 3" : undefined}
                  dot={(dot: { cx?: number; cy?: number; index?: number }) =>
                    props.points.length < 40 || isolated(data, s.key, dot.index ?? -1) ? (
                      <circle key={`${s.key}${dot.index}`} cx={dot.cx} cy={dot.cy} r={2} fill={COLORS[i % COLORS.length]} />
                    ) : (
                      <g key={`${s.key}${dot.index}`} />
                    )
                  }
                  isAnimationActive={false}
                  connectNulls={false}
                />
              ))}
              {thresholds.map((th) => (
                <ReferenceLine
                  key={`y${th.label}`}
                  y={th.value}
                  ifOverflow="extendDomain"
                  stroke="#b45309"
                  strokeDasharray="6 3"
                  label={{ value: th.label, fontSize: 10, position: "insideTopRight" }}
                />
              ))}
              {markers.map((m) => (
                <ReferenceLine
                  key={`x${m.t}${m.label}`}
                  x={m.t}
                  stroke={MARKER_COLORS[m.tone ?? "alert"]}
                  label={{ value: m.label, fontSize: 10, position: "insideTopLeft" }}
                />
              ))}
              {props.partialFromMs !== undefined && props.partialFromMs < toMs && (
                <ReferenceArea
                  x1={Math.max(props.partialFromMs, fromMs)}
                  x2={toMs}
                  fill="#e5e7eb"
                  fillOpacity={0.6}
                  label={{ value: "partial", fontSize: 10 }}
                />
              )}
              {dragFrom !== null && dragTo !== null && <ReferenceArea x1={dragFrom} x2={dragTo} fill="#1d4ed8" fillOpacity={0.15} />}
            </ComposedChart>
          </ResponsiveContainer>
        </div>
      )}
    </figure>
  );
}
