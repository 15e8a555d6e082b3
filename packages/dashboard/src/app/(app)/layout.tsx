import Link from "next/link";
import type { ReactNode } from "react";
import { Suspense } from "react";
import { RangePicker } from "@/components/range-picker";
import { requireSession } from "@/lib/session";

export const dynamic = "force-dynamic";

/** Every page below needs a session; the navigation and the time range are shared. */
export default async function AppLayout({ children }: { children: ReactNode }) {
  await requireSession();
  return (
    <>
      <header>
        <span className="brand">Vigil</span>
        <Link href="/">Overview</Link>
        <Link href="/models">Models</Link>
        <Link href="/slos">SLOs</Link>
        <Link href="/alerts">Alerts</Link>
        <Link href="/traces">Traces</Link>
        <Link href="/predictions">Predictions</Link>
        <Suspense>
          <RangePicker />
        </Suspense>
        <form method="post" action="/api/logout" className="logout">
          <button type="submit">log out</button>
        </form>
      </header>
      <main>{children}</main>
    </>
  );
}
