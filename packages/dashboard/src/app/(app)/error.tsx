"use client";

/**
 * A page that failed for a reason other than an unknown thing (404) or a bad parameter (400):
 * most often the monitor API is down or slow. Production builds keep the message on the server;
 * the digest finds it in the dashboard's log.
 */
export default function PageError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <section className="card" data-status="500">
      <title>Error · Vigil</title>
      <h2>This page could not load</h2>
      <p>
        The dashboard could not read what this page shows from the monitor API. Check that the monitor (vigil serve, vigil monitor or vigil up) is running and
        reachable at VIGIL_API_URL, then try again.
      </p>
      {error.digest && <p className="muted">Error digest {error.digest}: the dashboard's log has the details under it.</p>}
      <button type="button" onClick={reset}>
        try again
      </button>
    </section>
  );
}
