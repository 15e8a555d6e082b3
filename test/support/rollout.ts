/** A seeded generator of uniform numbers in [0, 1) (a linear congruential one), so synthetic traffic is the same every run. */
export function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}
