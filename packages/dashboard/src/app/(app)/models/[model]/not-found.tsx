import Link from "next/link";

/** A model or version the model repository does not hold: requests may have named it, but it was never a model. */
export default function ModelNotFound() {
  return (
    <section className="card">
      <h2>Model not found</h2>
      <p>
        The model repository holds no such model, or no such version of it. Requests that named it were refused and are counted apart on the{" "}
        <Link href="/models">Models</Link> page.
      </p>
    </section>
  );
}
