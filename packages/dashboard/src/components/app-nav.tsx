"use client";

import { Link } from "@/components/link";
import { usePathname, useSearchParams } from "next/navigation";
import { keep } from "@/lib/range";

const SECTIONS = [
  { href: "/", name: "Overview" },
  { href: "/models", name: "Models" },
  { href: "/slos", name: "SLOs" },
  { href: "/alerts", name: "Alerts" },
  { href: "/traces", name: "Traces" },
  { href: "/predictions", name: "Predictions" },
] as const;

/**
 * The main navigation. Each link carries the current range and refresh choice, so moving between
 * pages keeps the moment being looked at. prefetch is off: every refresh would otherwise render
 * every linked page on the server again.
 */
export function AppNav() {
  const pathname = usePathname();
  const search = Object.fromEntries(useSearchParams());
  return (
    <nav aria-label="main">
      {SECTIONS.map(({ href, name }) => {
        const current = href === "/" ? pathname === "/" : pathname === href || pathname.startsWith(`${href}/`);
        return (
          <Link key={href} href={keep(search, href)} aria-current={current ? "page" : undefined}>
            {name}
          </Link>
        );
      })}
    </nav>
  );
}
