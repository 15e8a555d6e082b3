/** Deprecated environment variable names, each mapped to the name that replaced it. */
export type EnvRenames = Readonly<Record<string, string>>;

/**
 * A copy of `env` with each deprecated name moved to its replacement, and one warning line per
 * deprecated name in use, so old deployments keep working while they are told what to change.
 * When both names are set the new one wins.
 */
export function renameEnv(env: NodeJS.ProcessEnv, renames: EnvRenames, onWarning: (message: string) => void): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const [old, current] of Object.entries(renames)) {
    const value = out[old];
    if (value === undefined) continue;
    delete out[old];
    if (out[current] === undefined) {
      out[current] = value;
      onWarning(`${old} is deprecated; set ${current} instead`);
    } else {
      onWarning(`${old} is deprecated and ignored because ${current} is set`);
    }
  }
  return out;
}

/** A comma-separated list of tokens, blanks dropped. */
export function parseTokenList(value: string): string[] {
  return value
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
}
