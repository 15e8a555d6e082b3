import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { SESSION_COOKIE, newSession, passwordMatches } from "@/lib/session";

async function login(form: FormData) {
  "use server";
  if (!passwordMatches(String(form.get("password") ?? ""))) redirect("/login?error=1");
  const session = newSession();
  (await cookies()).set(SESSION_COOKIE, session.value, { httpOnly: true, sameSite: "lax", path: "/", expires: session.expires });
  redirect("/");
}

export default async function LoginPage({ searchParams }: { searchParams: Promise<{ error?: string }> }) {
  const { error } = await searchParams;
  return (
    <form className="card login" action={login}>
      <h2>Vigil</h2>
      <label>
        password
        <input type="password" name="password" autoFocus required />
      </label>
      <button type="submit">log in</button>
      {error && <p className="error" role="alert">wrong password</p>}
    </form>
  );
}
