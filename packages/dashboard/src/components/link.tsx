import NextLink from "next/link";
import type { ComponentProps } from "react";

/**
 * Next's Link without prefetching. Every page is rendered on demand from the monitor API, so a
 * prefetch is a full render of the linked page; with auto-refresh each refresh would render every
 * page linked from the visible one. A click still navigates client-side.
 */
export function Link(props: ComponentProps<typeof NextLink>) {
  return <NextLink {...props} prefetch={false} />;
}
