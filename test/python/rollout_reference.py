"""Reference figures for judging a rollout, from scipy and statsmodels, for Vigil's tests.

Reads JSON {"wilson": [...], "mcnemar": [...], "two_proportion": [...], "mann_whitney": [...]} on
stdin and writes the same keys with each case's figures:
- wilson {k, n}: statsmodels proportion_confint (method "wilson", 95%);
- mcnemar {primary_only, candidate_only, pairs}: statsmodels' exact McNemar p-value, and the Wald
  interval of the mean of the per-pair differences built as an array (numpy);
- two_proportion {c1, n1, c2, n2}: proportions_ztest (pooled) and confint_proportions_2indep
  (wald, diff);
- mann_whitney {x, y}: scipy.stats.mannwhitneyu (asymptotic, continuity-corrected) with x's rank
  sum and the tie term sum(t^3 - t) from scipy.stats.rankdata;
- percentiles {values}: numpy's p50, p95 and p99 (linear interpolation, numpy's default).
"""
import json
import sys

import numpy as np
from scipy.stats import mannwhitneyu, norm, rankdata
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, proportions_ztest

cases = json.load(sys.stdin)
z = norm.ppf(0.975)
out = {"wilson": [], "mcnemar": [], "two_proportion": [], "mann_whitney": [], "percentiles": []}

for c in cases.get("wilson", []):
    lo, hi = proportion_confint(c["k"], c["n"], alpha=0.05, method="wilson")
    out["wilson"].append({"low": float(lo), "high": float(hi)})

for c in cases.get("mcnemar", []):
    b, cc, n = c["primary_only"], c["candidate_only"], c["pairs"]
    table = [[n - b - cc, b], [cc, 0]]
    p = mcnemar(table, exact=True).pvalue
    d = np.concatenate([np.ones(cc), -np.ones(b), np.zeros(n - b - cc)])
    mean = d.mean()
    se = d.std(ddof=0) / np.sqrt(n)
    out["mcnemar"].append({"p": float(p), "difference": float(mean), "low": float(mean - z * se), "high": float(mean + z * se)})

for c in cases.get("two_proportion", []):
    stat, p = proportions_ztest([c["c1"], c["c2"]], [c["n1"], c["n2"]])
    lo, hi = confint_proportions_2indep(c["c1"], c["n1"], c["c2"], c["n2"], method="wald", compare="diff")
    out["two_proportion"].append({"z": float(stat), "p": float(p), "low": float(lo), "high": float(hi)})

for c in cases.get("mann_whitney", []):
    x, y = np.asarray(c["x"], dtype=float), np.asarray(c["y"], dtype=float)
    result = mannwhitneyu(x, y, alternative="two-sided", method="asymptotic", use_continuity=True)
    ranks = rankdata(np.concatenate([x, y]))
    _, ties = np.unique(np.concatenate([x, y]), return_counts=True)
    out["mann_whitney"].append(
        {
            "u": float(result.statistic),
            "p": float(result.pvalue),
            "rank_sum": float(ranks[: len(x)].sum()),
            "tie_sum": float((ties.astype(float) ** 3 - ties).sum()),
        }
    )

for c in cases.get("percentiles", []):
    out["percentiles"].append([float(v) for v in np.percentile(np.asarray(c["values"], dtype=float), [50, 95, 99])])

print(json.dumps(out))
