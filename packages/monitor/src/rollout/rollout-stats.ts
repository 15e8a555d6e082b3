import { chiSquareSurvival, logGamma } from "../stats.js";

/**
 * The tests a rollout is judged by, written from their definitions; the tests compare each
 * against scipy and statsmodels (test/python/rollout_reference.py). Differences are always
 * candidate minus primary.
 */

/** The standard normal's 97.5% quantile: every interval here is a 95% one. */
export const Z_95 = 1.959963984540054;

/**
 * The significance one look may spend: look k (1, 2, ...) gets significance · 6 / (π² k²). The
 * series Σ 6 / (π² k²) is 1, so by the union bound the chance that any look of a rollout with
 * no real difference calls a difference stays at or under `significance`, however many looks.
 */
export function lookAlpha(significance: number, look: number): number {
  return (significance * 6) / (Math.PI * Math.PI * look * look);
}

/** Two-sided p-value of a standard normal statistic (z² is chi-square with one degree of freedom). */
export function normalTwoSidedP(z: number): number {
  return chiSquareSurvival(z * z, 1);
}

export type Interval = [number, number];

/** Wilson's score interval for a proportion (statsmodels' proportion_confint, method "wilson"); [NaN, NaN] without trials. */
export function wilsonInterval(successes: number, trials: number, z = Z_95): Interval {
  if (trials === 0) return [Number.NaN, Number.NaN];
  const p = successes / trials;
  const z2 = z * z;
  const centre = (p + z2 / (2 * trials)) / (1 + z2 / trials);
  const half = (z / (1 + z2 / trials)) * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials));
  return [centre - half, centre + half];
}

/** P(X ≤ k) for X ~ Binomial(n, 1/2), summed in log space so thousands of trials neither underflow nor lose digits. */
function halfBinomialCdf(k: number, n: number): number {
  const logTotal = n * Math.LN2;
  const logBinomial = (i: number) => logGamma(n + 1) - logGamma(i + 1) - logGamma(n - i + 1);
  let sum = 0;
  for (let i = 0; i <= k; i++) sum += Math.exp(logBinomial(i) - logTotal);
  return sum;
}

/** One test of candidate against primary. */
export interface RolloutTest {
  name: "accuracy" | "error_rate" | "latency";
  method: "mcnemar_exact" | "two_proportion_z" | "mann_whitney_u";
  /** The test's statistic: discordant pairs the candidate won (McNemar), z, or the candidate's U. */
  statistic: number;
  pValue: number;
  /** Candidate minus primary (accuracy, error rate), or the candidate's share of wins in pairwise latency comparisons minus 1/2. */
  difference: number;
  /** 95% interval of `difference`; [NaN, NaN] where the test gives none. */
  interval: Interval;
  /** Rows (or pairs) the test saw. */
  n: number;
}

/**
 * McNemar's exact test on paired correctness: `primaryOnly` pairs only the primary got right,
 * `candidateOnly` only the candidate, of `pairs` labelled pairs. The p-value is the two-sided
 * binomial test of the discordant pairs at 1/2; the interval is the Wald interval of the mean of
 * the per-pair differences (+1, 0, −1).
 */
export function mcnemarExact(primaryOnly: number, candidateOnly: number, pairs: number): RolloutTest {
  const discordant = primaryOnly + candidateOnly;
  const pValue = discordant === 0 ? 1 : Math.min(1, 2 * halfBinomialCdf(Math.min(primaryOnly, candidateOnly), discordant));
  const difference = pairs === 0 ? Number.NaN : (candidateOnly - primaryOnly) / pairs;
  const se = pairs === 0 ? Number.NaN : Math.sqrt(Math.max(0, discordant / pairs - difference * difference) / pairs);
  return {
    name: "accuracy",
    method: "mcnemar_exact",
    statistic: candidateOnly,
    pValue,
    difference,
    interval: [difference - Z_95 * se, difference + Z_95 * se],
    n: pairs,
  };
}

/**
 * Two-proportion z-test of candidate against primary (pooled variance, as statsmodels'
 * proportions_ztest), with the unpooled Wald interval of the difference (confint_proportions_2indep, "wald").
 */
export function twoProportionTest(name: RolloutTest["name"], candidate: { count: number; n: number }, primary: { count: number; n: number }): RolloutTest {
  const n = candidate.n + primary.n;
  if (candidate.n === 0 || primary.n === 0) {
    return { name, method: "two_proportion_z", statistic: Number.NaN, pValue: 1, difference: Number.NaN, interval: [Number.NaN, Number.NaN], n };
  }
  const p1 = candidate.count / candidate.n;
  const p2 = primary.count / primary.n;
  const pooled = (candidate.count + primary.count) / n;
  const pooledSe = Math.sqrt(pooled * (1 - pooled) * (1 / candidate.n + 1 / primary.n));
  const z = pooledSe === 0 ? 0 : (p1 - p2) / pooledSe;
  const se = Math.sqrt((p1 * (1 - p1)) / candidate.n + (p2 * (1 - p2)) / primary.n);
  return {
    name,
    method: "two_proportion_z",
    statistic: z,
    pValue: pooledSe === 0 ? 1 : normalTwoSidedP(z),
    difference: p1 - p2,
    interval: [p1 - p2 - Z_95 * se, p1 - p2 + Z_95 * se],
    n,
  };
}

/** What the Mann-Whitney test needs of two samples' joint ranking: the candidate's rank sum (ties at their mean rank) and Σ (t³ − t) over tie groups. */
export interface RankSums {
  candidateRankSum: number;
  candidateN: number;
  primaryN: number;
  tieSum: number;
}

/**
 * Mann-Whitney U of the candidate's latencies against the primary's, normal approximation with
 * the tie correction and a continuity correction of 1/2 (scipy.stats.mannwhitneyu, method
 * "asymptotic"). The difference is U / (n1 n2) − 1/2: above 0 when the candidate tends to be slower.
 */
export function mannWhitneyU(ranks: RankSums): RolloutTest {
  const { candidateN: n1, primaryN: n2 } = ranks;
  const n = n1 + n2;
  if (n1 === 0 || n2 === 0) {
    return { name: "latency", method: "mann_whitney_u", statistic: Number.NaN, pValue: 1, difference: Number.NaN, interval: [Number.NaN, Number.NaN], n };
  }
  const u1 = ranks.candidateRankSum - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - ranks.tieSum / (n * (n - 1)));
  // The larger of U1 and U2, less the continuity correction: at or below 0 the samples are as even as ranks allow (scipy clips p to 1 there).
  const excess = Math.max(u1, n1 * n2 - u1) - mean - 0.5;
  return {
    name: "latency",
    method: "mann_whitney_u",
    statistic: u1,
    pValue: variance <= 0 || excess <= 0 ? 1 : normalTwoSidedP(excess / Math.sqrt(variance)),
    difference: u1 / (n1 * n2) - 0.5,
    interval: [Number.NaN, Number.NaN],
    n,
  };
}

export type Verdict = "better" | "worse" | "not yet distinguishable";

/**
 * A test's verdict at a look: a difference only when p < alpha. `higherIsBetter` says which way
 * is better for the candidate (accuracy up; error rate and latency down).
 */
export function testVerdict(test: RolloutTest, alpha: number, higherIsBetter: boolean): Verdict {
  if (!(test.pValue < alpha) || !(test.difference !== 0)) return "not yet distinguishable";
  return test.difference > 0 === higherIsBetter ? "better" : "worse";
}

/**
 * The rollout's verdict: worse when quality, error rate or latency is significantly worse;
 * better when quality is significantly better and nothing is worse; otherwise not yet distinguishable.
 */
export function overallVerdict(verdicts: { quality?: Verdict; errorRate: Verdict; latency: Verdict }): Verdict {
  const all = [verdicts.quality, verdicts.errorRate, verdicts.latency];
  if (all.includes("worse")) return "worse";
  return verdicts.quality === "better" ? "better" : "not yet distinguishable";
}
