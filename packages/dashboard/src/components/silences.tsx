"use client";

import { useRouter } from "next/navigation";
import { useState } from "react";

/**
 * Creates a silence through the dashboard's own route (which holds the API token). An alert's
 * "silence" button opens it with matchers that select that alert.
 */
export function SilenceForm({ defaultMatchers = "" }: { defaultMatchers?: string }) {
  const router = useRouter();
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  async function submit(form: FormData) {
    setBusy(true);
    setError("");
    const matchers = String(form.get("matchers") ?? "")
      .split("\n")
      .map((m) => m.trim())
      .filter(Boolean);
    const response = await fetch("/api/silences", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ matchers, duration: form.get("duration"), comment: form.get("comment"), createdBy: form.get("createdBy") }),
    });
    setBusy(false);
    if (!response.ok) {
      setError(((await response.json()) as { error?: string }).error ?? `HTTP ${response.status}`);
      return;
    }
    router.refresh();
  }
  return (
    // Keyed by the prefill, so a second alert's button replaces the first one's matchers.
    <form className="card silence-form" action={submit} id="new-silence" key={defaultMatchers}>
      <h3>New silence</h3>
      <label>
        matchers, one a line (name=&quot;value&quot;, name=~&quot;regex&quot;)
        <textarea name="matchers" rows={Math.max(2, defaultMatchers.split("\n").length)} defaultValue={defaultMatchers} required />
      </label>
      <label>
        for <input name="duration" defaultValue="2h" size={6} />
      </label>
      <label>
        by <input name="createdBy" defaultValue="" size={12} />
      </label>
      <label>
        why <input name="comment" defaultValue="" size={30} />
      </label>
      <button type="submit" disabled={busy}>
        silence
      </button>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

export function ExpireButton({ id }: { id: string }) {
  const router = useRouter();
  return (
    <button
      type="button"
      onClick={async () => {
        await fetch(`/api/silences/${id}`, { method: "DELETE" });
        router.refresh();
      }}
    >
      expire
    </button>
  );
}
