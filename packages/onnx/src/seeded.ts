/**
 * Deterministic uniform values in [-scale, scale) from a 32-bit linear congruential generator:
 * the weights and inputs of generated test and benchmark models, the same on every machine.
 */
export function seededUniform(count: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    out[i] = (state / 2 ** 32 - 0.5) * 2 * scale;
  }
  return out;
}
