import type { ReactNode } from "react";
import { Suspense } from "react";
import { AppNav } from "@/components/app-nav";
import { RangePicker } from "@/components/range-picker";
import { requireSession } from "@/lib/session";

export const dynamic = "force-dynamic";

/** Every page below needs a session; the navigation and the time range are shared. */
export default async function AppLayout({ children }: { children: ReactNode }) {
  await requireSession();
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to main content
      </a>
      <header>
        <span className="brand">Vigil</span>
        <Suspense>
          <AppNav />
        </Suspense>
        <Suspense>
          <RangePicker />
        </Suspense>
        <form method="post" action="/api/logout" className="logout">
          <button type="submit">log out</button>
        </form>
      </header>
      {/* tabIndex -1: the skip link's target takes focus, so the next Tab starts inside the page. */}
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
