"use client";

import { Link } from "@/components/link";
import { Suspense } from "react";
import { usePathname, useSearchParams } from "next/navigation";

const TRACE_ID = /^[0-9a-f]{32}$/;

/** Why an address names nothing, from the address itself: notFound() carries no message to the 404 page. */
export function explainMissing(pathname: string, version?: string | null): string {
  const [section, first, second] = pathname
    .split("/")
    .slice(1)
    .map((part) => {
      try {
        return decodeURIComponent(part);
      } catch {
        return part;
      }
    });
  if (section === "traces" && first !== undefined) {
    return TRACE_ID.test(first)
      ? `No trace ${first} is stored. Traces are kept for the configured retention (7 days by default), and a request the tracer did not sample has none.`
      : `"${first}" is not a trace id: a trace id is 32 lowercase hexadecimal digits, as in a W3C traceparent header.`;
  }
  if (section === "predictions" && first !== undefined) {
    return second !== undefined && /^\d+$/.test(second)
      ? `The prediction log has no row ${second} of request "${first}". Rows are kept for the configured retention (30 days by default); a request of n rows has rows 0 to n-1.`
      : `"${second ?? ""}" is not a row number: a prediction's address is /predictions/<request id>/<row>, the row counting from 0.`;
  }
  if (section === "models" && first !== undefined) {
    const refused = "Requests that named it were refused; the Models page counts them apart.";
    return version
      ? `The model repository holds no version ${version} of model "${first}". ${refused}`
      : `The monitor knows no model named "${first}": it has no config.json in the model repository. ${refused}`;
  }
  return `There is no page at ${pathname}.`;
}

/** The explanation, reading the version from the query (which a static 404 page has only in the browser). */
function Problem({ pathname }: { pathname: string }) {
  const version = useSearchParams().get("version");
  return <p data-problem>{explainMissing(pathname, version)}</p>;
}

/** The explanation of a 404, with a way back. */
export function NotFoundExplanation() {
  const pathname = usePathname();
  return (
    <section className="card" data-status="404">
      <title>Not found · Vigil</title>
      <h2>Not found</h2>
      <Suspense fallback={<p data-problem>{explainMissing(pathname)}</p>}>
        <Problem pathname={pathname} />
      </Suspense>
      <p>
        <Link href="/">Overview</Link>
      </p>
    </section>
  );
}
