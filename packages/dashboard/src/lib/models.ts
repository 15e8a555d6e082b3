import { notFound } from "next/navigation";
import type { ModelsResponse, RepositoryModelResponse } from "@vigil/monitor";
import { ApiError, api } from "./api";
import type { TimeMarker } from "@/components/time-chart";
import type { Search } from "./range";

/** A model of the repository, by the name in the URL; a model the repository does not hold is a 404 page. */
export async function repositoryModel(name: string): Promise<RepositoryModelResponse> {
  const { models } = await api<ModelsResponse>("/api/v1/models");
  const model = models.find((m) => m.name === name);
  if (!model) notFound();
  return model;
}

/** The version a model page shows: the URL's, which must be one of the repository's, else the serving version. */
export function chosenVersion(model: RepositoryModelResponse, search: Search): string {
  const asked = typeof search.version === "string" ? search.version : undefined;
  if (asked !== undefined) {
    if (!model.versions.some((v) => v.version === asked)) notFound();
    return asked;
  }
  const version = model.servingVersion ?? model.versions.at(-1)?.version;
  if (version === undefined) notFound();
  return version;
}

/** A monitor API call whose 404 (an unknown model or version) becomes the page's 404. */
export async function apiOrNotFound<T>(path: string): Promise<T> {
  try {
    return await api<T>(path);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) notFound();
    throw error;
  }
}

/**
 * A "deploy" marker where each version began answering requests inside the range: the oldest
 * minute of successful traffic the store keeps for it. A version serving since before the range
 * has no marker.
 */
export function deployMarkers(models: RepositoryModelResponse[], fromMs: number, toMs: number, only?: string): TimeMarker[] {
  const markers: TimeMarker[] = [];
  for (const model of models) {
    if (only !== undefined && model.name !== only) continue;
    for (const v of model.versions) {
      const t = v.firstServedAt === null ? Number.NaN : Date.parse(v.firstServedAt);
      if (t > fromMs && t <= toMs) markers.push({ t, label: `${only === undefined ? `${model.name} ` : ""}v${v.version}`, tone: "deploy" });
    }
  }
  return markers;
}
