import type { OverviewResponse } from "@vigil/monitor";
import { api } from "./api";
import { type Search, rangeQuery } from "./range";

/** The models with traffic in the page's range, for a model dropdown; the one already chosen stays listed. */
export async function knownModels(search: Search, chosen?: string): Promise<string[]> {
  const { totals } = await api<OverviewResponse>(`/api/v1/overview?${rangeQuery(search)}`);
  const names = new Set(totals.models.map((m) => m.model));
  if (chosen) names.add(chosen);
  return [...names].sort();
}
