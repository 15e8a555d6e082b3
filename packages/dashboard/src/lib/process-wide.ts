/**
 * One value per server process. Next.js bundles route handlers and pages apart, each with its own
 * copy of every module, so module-level state (a generated key, revoked sessions) would otherwise
 * exist once per bundle and disagree between a route and a page.
 */
export function processWide<T>(name: string, create: () => T): T {
  const slot = Symbol.for(`vigil.dashboard.${name}`);
  const shared = globalThis as { [key: symbol]: T | undefined };
  shared[slot] ??= create();
  return shared[slot];
}
