export default async function LoginPage({ searchParams }: { searchParams: Promise<{ error?: string }> }) {
  const { error } = await searchParams;
  return (
    <form className="card login" method="post" action="/api/login">
      <h2>Vigil</h2>
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
  );
}
