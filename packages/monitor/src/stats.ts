/**
 * Small numerical pieces drift needs, written from their definitions. Results are checked
 * against scipy in the tests.
 */

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9), relative error about 1e-15. */
export function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
    9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = c[0]!;
  for (let i = 1; i < 9; i++) sum += c[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/**
 * Regularised upper incomplete gamma Q(a, x): a series below a + 1, Lentz's continued fraction
 * above it, each to full double precision.
 */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const front = Math.exp(-x + a * Math.log(x) - logGamma(a));
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10_000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-17) break;
    }
    return 1 - front * sum;
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-17) break;
  }
  return front * h;
}

/** P(X ≥ x) for a chi-square variable with k degrees of freedom. */
export function chiSquareSurvival(x: number, k: number): number {
  return gammaQ(k / 2, x / 2);
}

/** Counts as proportions; a distribution with no mass stays all zero. */
export function proportions(counts: number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => (total === 0 ? 0 : c / total));
}

/** Floor for empty bins in PSI and chi-square expectations (Evidently uses the same 0.0001). */
export const EMPTY_BIN_SHARE = 1e-4;

const floored = (p: number[]) => p.map((v) => (v === 0 ? EMPTY_BIN_SHARE : v));

/** Population stability index: Σ (current − reference) · ln(current / reference), empty bins floored. */
export function populationStabilityIndex(reference: number[], current: number[]): number {
  const r = floored(proportions(reference));
  const c = floored(proportions(current));
  return r.reduce((sum, ri, i) => sum + (c[i]! - ri) * Math.log(c[i]! / ri), 0);
}

/** Jensen-Shannon distance (natural log; the square root of the divergence), as scipy computes it. */
export function jensenShannonDistance(reference: number[], current: number[]): number {
  const p = proportions(reference);
  const q = proportions(current);
  let divergence = 0;
  for (let i = 0; i < p.length; i++) {
    const m = (p[i]! + q[i]!) / 2;
    if (p[i]! > 0) divergence += p[i]! * Math.log(p[i]! / m);
    if (q[i]! > 0) divergence += q[i]! * Math.log(q[i]! / m);
  }
  return Math.sqrt(Math.max(0, divergence / 2));
}

/**
 * Chi-square test of homogeneity on the 2 × K table of reference and current counts: do the two
 * samples come from one distribution? Both samples carry sampling error, which a goodness-of-fit
 * test against the reference's shares would ignore (it alarms on samples of the same data).
 * Categories empty in both samples are left out.
 */
export function chiSquareTest(reference: number[], current: number[]): { statistic: number; pValue: number; degreesOfFreedom: number } {
  const columns = reference.map((r, i) => [r, current[i]!] as const).filter(([r, c]) => r + c > 0);
  const n1 = columns.reduce((a, [r]) => a + r, 0);
  const n2 = columns.reduce((a, [, c]) => a + c, 0);
  const total = n1 + n2;
  if (columns.length < 2 || n1 === 0 || n2 === 0) return { statistic: 0, pValue: 1, degreesOfFreedom: 0 };
  let statistic = 0;
  for (const [r, c] of columns) {
    const columnTotal = r + c;
    const expectedR = (n1 * columnTotal) / total;
    const expectedC = (n2 * columnTotal) / total;
    statistic += (r - expectedR) ** 2 / expectedR + (c - expectedC) ** 2 / expectedC;
  }
  const degreesOfFreedom = columns.length - 1;
  return { statistic, pValue: chiSquareSurvival(statistic, degreesOfFreedom), degreesOfFreedom };
}

/**
 * Merges sparse categories so a test or distance on them is trustworthy. Categories are kept in
 * order of reference frequency while each kept one expects at least `minExpected` rows in the
 * smaller sample and there are at most `maxCategories`; the rest pool into one last category.
 */
export function coarsenCategories(
  reference: number[],
  current: number[],
  minExpected: number,
  maxCategories = Infinity,
): { reference: number[]; current: number[] } {
  const n1 = reference.reduce((a, b) => a + b, 0);
  const n2 = current.reduce((a, b) => a + b, 0);
  const smaller = Math.min(n1, n2);
  const order = reference.map((_, i) => i).sort((a, b) => reference[b]! + current[b]! - (reference[a]! + current[a]!));
  const kept: number[] = [];
  for (const i of order) {
    const share = n1 + n2 === 0 ? 0 : (reference[i]! + current[i]!) / (n1 + n2);
    if (share * smaller < minExpected || kept.length >= maxCategories - 1) break;
    kept.push(i);
  }
  if (kept.length >= reference.length - 1) return { reference, current };
  const keptSet = new Set(kept);
  const rest = (counts: number[]) => counts.reduce((a, c, i) => a + (keptSet.has(i) ? 0 : c), 0);
  return { reference: [...kept.map((i) => reference[i]!), rest(reference)], current: [...kept.map((i) => current[i]!), rest(current)] };
}

/**
 * Kolmogorov's limiting distribution P(K > λ) = 2 Σ (-1)^(k-1) exp(-2 k² λ²), with Stephens'
 * small-sample correction λ = (√n + 0.12 + 0.11/√n) · D for the effective size n.
 */
export function kolmogorovSmirnovPValue(statistic: number, effectiveSize: number): number {
  const root = Math.sqrt(effectiveSize);
  const lambda = (root + 0.12 + 0.11 / root) * statistic;
  if (lambda < 1e-8) return 1;
  let sum = 0;
  for (let k = 1; k <= 100; k++) {
    const term = (k % 2 === 1 ? 2 : -2) * Math.exp(-2 * k * k * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-16) break;
  }
  return Math.min(1, Math.max(0, sum));
}

/** Largest sample size for which the exact two-sample distribution is used, as scipy's ks_2samp does by default. */
export const KS_EXACT_MAX_SIZE = 10_000;

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * The exact two-sided p-value of the two-sample Kolmogorov-Smirnov statistic D for samples of
 * sizes n1 and n2 (continuous data), as scipy.stats.ks_2samp computes it in exact mode. D is a
 * multiple of 1/lcm(n1, n2); h = round(D · lcm) removes float noise. Equal sizes use the
 * alternating binomial series, written as nested products so no binomial coefficient is formed;
 * unequal sizes walk the lattice of (x, y) path positions (Hodges' method as Viehmann
 * reformulated it), carrying for each point the share of monotone paths that have already
 * left the band |x/n1 − y/n2| < D.
 */
export function kolmogorovSmirnovExactPValue(statistic: number, n1: number, n2: number): number {
  const g = gcd(n1, n2);
  const lcm = (n1 / g) * n2;
  const h = Math.round(statistic * lcm);
  if (h <= 0) return 1;
  if (n1 === n2) {
    const n = n1;
    let nested = 0;
    for (let k = Math.floor(n / h); k >= 0; k--) {
      let a = 1;
      for (let j = 0; j < h; j++) a *= (n - k * h - j) / (n + k * h + j + 1);
      nested = a * (1 - nested);
    }
    return Math.min(1, Math.max(0, 2 * nested));
  }
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const [mg, ng] = [m / g, n / g];
  // share[y] is the share for column x at row y while inside the band; 1 outside it.
  const share = new Float64Array(n + 1).fill(1);
  let previousLo = 0;
  let previousHi = -1;
  for (let x = 0; x <= m; x++) {
    // Rows y with |ng·x − mg·y| < h.
    const lo = Math.max(0, Math.floor((ng * x - h) / mg) + 1);
    const hi = Math.min(n, Math.ceil((ng * x + h) / mg) - 1);
    if (lo > hi) return 1;
    for (let y = previousLo; y < Math.min(lo, previousHi + 1); y++) share[y] = 1;
    for (let y = lo; y <= hi; y++) {
      if (x === 0 && y === 0) {
        share[0] = 0;
        continue;
      }
      const left = x > 0 && y >= previousLo && y <= previousHi ? share[y]! : 1;
      const below = y === 0 ? 0 : y - 1 >= lo ? share[y - 1]! : 1;
      share[y] = (x * left + y * below) / (x + y);
    }
    previousLo = lo;
    previousHi = hi;
  }
  return Math.min(1, Math.max(0, share[n]!));
}

/**
 * The two-sided p-value of a two-sample Kolmogorov-Smirnov statistic: exact when neither sample
 * is larger than KS_EXACT_MAX_SIZE (scipy's "auto" rule), else Kolmogorov's limit with Stephens'
 * correction at the effective size n1·n2/(n1+n2).
 */
export function kolmogorovSmirnovTwoSample(statistic: number, n1: number, n2: number): { pValue: number; method: "exact" | "asymptotic" } {
  if (Math.max(n1, n2) <= KS_EXACT_MAX_SIZE) return { pValue: kolmogorovSmirnovExactPValue(statistic, n1, n2), method: "exact" };
  return { pValue: kolmogorovSmirnovPValue(statistic, (n1 * n2) / (n1 + n2)), method: "asymptotic" };
}

/** sup |F1 − F2| of two sorted samples, both empirical CDFs counting values ≤ x (ties never split). */
export function kolmogorovSmirnovStatistic(sorted1: ArrayLike<number>, sorted2: ArrayLike<number>): number {
  let i = 0;
  let j = 0;
  let statistic = 0;
  while (i < sorted1.length && j < sorted2.length) {
    const x = Math.min(sorted1[i]!, sorted2[j]!);
    while (i < sorted1.length && sorted1[i] === x) i++;
    while (j < sorted2.length && sorted2[j] === x) j++;
    statistic = Math.max(statistic, Math.abs(i / sorted1.length - j / sorted2.length));
  }
  return statistic;
}
