/**
 * A reproducible stream of numbers in [0, 1) from a 32-bit linear congruential generator, the same
 * on every machine: seeded sampling, shuffles, and the weights and inputs of generated models.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Deterministic uniform values in [-scale, scale): the weights and inputs of generated test and benchmark models. */
export function seededUniform(count: number, seed: number, scale = 1): Float32Array {
  const random = seededRandom(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (random() - 0.5) * 2 * scale;
  return out;
}
