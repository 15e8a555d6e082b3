"use client";

import { useEffect } from "react";

/** Scrolls the element with this id into view once, for links that name one thing on a long page (`/slos?slo=NAME`). */
export function ScrollIntoView({ id }: { id: string }) {
  useEffect(() => {
    document.getElementById(id)?.scrollIntoView({ block: "start" });
  }, [id]);
  return null;
}
