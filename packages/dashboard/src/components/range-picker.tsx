"use client";

import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { useEffect } from "react";
import { RANGES } from "@/lib/range";

const REFRESH = { off: "off", "15": "15 s", "60": "1 min" } as const;

/** The global time range and auto-refresh, kept in the query string so links and reloads keep them. */
export function RangePicker() {
  const router = useRouter();
  const pathname = usePathname();
  const search = useSearchParams();
  const range = search.get("range") ?? "1h";
  const refresh = search.get("refresh") ?? "off";

  useEffect(() => {
    if (refresh === "off") return;
    const timer = setInterval(() => router.refresh(), Number(refresh) * 1000);
    return () => clearInterval(timer);
  }, [refresh, router]);

  const set = (key: string, value: string) => {
    const params = new URLSearchParams(search.toString());
    params.set(key, value);
    params.delete("cursor");
    router.push(`${pathname}?${params.toString()}`);
  };
  return (
    <div className="picker">
      <label>
        range{" "}
        <select aria-label="time range" value={range} onChange={(e) => set("range", e.target.value)}>
          {Object.entries(RANGES).map(([key, name]) => (
            <option key={key} value={key}>
              last {name}
            </option>
          ))}
        </select>
      </label>
      <label>
        refresh{" "}
        <select aria-label="auto refresh" value={refresh} onChange={(e) => set("refresh", e.target.value)}>
          {Object.entries(REFRESH).map(([key, name]) => (
            <option key={key} value={key}>
              {name}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}
