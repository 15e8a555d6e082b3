"use client";

import { usePathname, useRouter, useSearchParams } from "next/navigation";

/**
 * Picks one of a model's versions (those in the model repository). Choosing one keeps the range
 * and drops the window and feature, which belong to the version left behind.
 */
export function VersionPicker({ versions, selected, serving }: { versions: string[]; selected: string; serving: string | null }) {
  const router = useRouter();
  const pathname = usePathname();
  const search = useSearchParams();
  const choose = (version: string) => {
    const params = new URLSearchParams(search.toString());
    params.set("version", version);
    params.delete("window");
    params.delete("feature");
    router.push(`${pathname}?${params.toString()}`);
  };
  return (
    <label className="version-picker">
      version{" "}
      <select aria-label="model version" value={selected} onChange={(e) => choose(e.target.value)}>
        {versions.map((v) => (
          <option key={v} value={v}>
            {v}
            {v === serving ? " (serving)" : ""}
          </option>
        ))}
      </select>
    </label>
  );
}
