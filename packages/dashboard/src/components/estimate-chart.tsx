import type { ResultPoint } from "@vigil/monitor";
import { type TimeMarker, type TimePoint, TimeChart } from "./time-chart";

/**
 * Estimated accuracy (CBPE) with its ±3 SE band, over the realized accuracy of the same windows
 * once labels arrived; one point at each monitor window's end.
 */
export function EstimateChart({
  estimated,
  realized,
  fromMs,
  toMs,
  markers,
}: {
  estimated: ResultPoint[];
  realized: ResultPoint[];
  fromMs: number;
  toMs: number;
  markers: TimeMarker[];
}) {
  const points: TimePoint[] = estimated
    .filter((p) => p.feature === "" && p.metric === "accuracy")
    .map((p) => {
      const { lower, upper } = p.details;
      const actual = realized.find((r) => r.feature === "" && r.metric === "accuracy" && r.windowEnd === p.windowEnd);
      return {
        t: Date.parse(p.windowEnd),
        estimated: p.value,
        realized: actual?.value ?? null,
        lower: typeof lower === "number" ? lower : null,
        upper: typeof upper === "number" ? upper : null,
      };
    });
  return (
    <TimeChart
      title="Estimated accuracy before labels (CBPE) against realized"
      unit=""
      fromMs={fromMs}
      toMs={toMs}
      points={points}
      series={[
        { key: "estimated", name: "estimated accuracy", dashed: true },
        { key: "realized", name: "realized accuracy" },
      ]}
      band={{ lowerKey: "lower", upperKey: "upper", name: "estimate ± 3 SE" }}
      yDomain={[0, 1]}
      markers={markers}
      empty="no estimate in this range (the version needs a labelled reference)"
    />
  );
}
