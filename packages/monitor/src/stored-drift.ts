import type { MonitorResult } from "@vigil/store";
import type { FeatureDrift } from "./drift.js";
import type { FeatureProfile } from "./profiles.js";
import { jensenShannonDistance, populationStabilityIndex } from "./stats.js";
import type { Window } from "./window.js";

export type StoredHistogram = Pick<FeatureDrift, "feature" | "kind" | "referenceCounts" | "currentCounts" | "psi" | "jensenShannon">;

const isCounts = (v: unknown): v is number[] => Array.isArray(v) && v.every((n) => typeof n === "number");

/**
 * Each feature's histogram of one window from the current counts the monitor stored when it
 * judged that window (kind drift), so showing it reads no prediction rows. Undefined unless
 * every feature has stored counts that still fit its profile: the same number of bins, and the
 * stored PSI equal to the PSI of those counts against the profile's reference counts (a profile
 * rebuilt since would change both). The rows are then read again instead.
 */
export function storedHistograms(results: MonitorResult[], window: Window, profiles: FeatureProfile[]): StoredHistogram[] | undefined {
  const histograms: StoredHistogram[] = [];
  for (const profile of profiles) {
    const stored = results.find((r) => r.feature === profile.feature && r.window.fromUs === window.fromUs && r.window.toUs === window.toUs);
    const currentCounts = stored?.details.current_counts;
    const referenceCounts = profile.kind === "numerical" ? profile.binCounts : profile.counts;
    if (!stored || !isCounts(currentCounts) || currentCounts.length !== referenceCounts.length) return undefined;
    const psi = populationStabilityIndex(referenceCounts, currentCounts);
    if (psi !== stored.details.psi) return undefined;
    histograms.push({
      feature: profile.feature,
      kind: profile.kind,
      referenceCounts,
      currentCounts,
      psi,
      jensenShannon: jensenShannonDistance(referenceCounts, currentCounts),
    });
  }
  return histograms;
}
