import type { Metadata } from "next";

export const metadata: Metadata = { title: "Log in · Vigil" };

export default async function LoginPage({ searchParams }: { searchParams: Promise<{ error?: string }> }) {
  const { error } = await searchParams;
  return (
    <main id="main">
      <form className="card login" method="post" action="/api/login">
        <h1>Log in to Vigil</h1>
        <label>
          password
          <input type="password" name="password" autoComplete="current-password" required />
        </label>
        <button type="submit">log in</button>
        {error && (
          <p className="error" role="alert">
            wrong password
          </p>
        )}
      </form>
    </main>
  );
}
