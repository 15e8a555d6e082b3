"use client";

import { useEffect } from "react";

/** Scrolls the element with this id into view once the page shows, for links that point at one item of a long page. */
export function ScrollIntoView({ id }: { id: string }) {
  useEffect(() => {
    document.getElementById(id)?.scrollIntoView({ block: "start" });
  }, [id]);
  return null;
}
