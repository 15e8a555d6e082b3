"""Reference drift figures for Vigil's monitor tests, from numpy and scipy.

Reads JSON {features: [{name, kind, edges?, categories?}], reference: {name: [values]},
current: {name: [values]}, chi: [[x, k], ...]} on stdin; writes per-feature counts, PSI,
Jensen-Shannon distance, chi-square test of homogeneity (categorical), Kolmogorov-Smirnov and Wasserstein-1
(numerical), deciles, and chi-square survival values.
"""
import json
import sys

import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2, chi2_contingency, ks_2samp, wasserstein_distance

FLOOR = 1e-4
d = json.load(sys.stdin)
out = {"features": {}, "chi_sf": [chi2.sf(x, k) for x, k in d["chi"]]}
for f in d["features"]:
    ref = np.array(d["reference"][f["name"]], dtype=np.float64)
    cur = np.array(d["current"][f["name"]], dtype=np.float64)
    if f["kind"] == "numerical":
        edges = np.array(f["edges"])
        ref_counts = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=len(edges) + 1)
        cur_counts = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=len(edges) + 1)
        deciles = [float(np.quantile(ref, q / 10)) for q in range(1, 10)]
    else:
        k = len(f["categories"])
        ref_counts = np.bincount(np.round(ref).astype(int), minlength=k)[:k]
        cur_counts = np.bincount(np.round(cur).astype(int), minlength=k)[:k]
        deciles = None
    p = ref_counts / ref_counts.sum()
    q = cur_counts / cur_counts.sum()
    pf = np.where(p == 0, FLOOR, p)
    qf = np.where(q == 0, FLOOR, q)
    result = {
        "reference_counts": ref_counts.tolist(),
        "current_counts": cur_counts.tolist(),
        "psi": float(np.sum((qf - pf) * np.log(qf / pf))),
        "js": float(jensenshannon(p, q)),
        "deciles": deciles,
    }
    if f["kind"] == "numerical":
        auto = ks_2samp(ref, cur)
        asymp = ks_2samp(ref, cur, method="asymp")
        result["ks"] = {"statistic": float(auto.statistic), "p": float(auto.pvalue), "p_asymp": float(asymp.pvalue)}
        result["wasserstein"] = float(wasserstein_distance(ref, cur))
        result["std"] = float(np.std(ref))
    if f["kind"] == "categorical":
        table = np.array([ref_counts, cur_counts])
        table = table[:, table.sum(axis=0) > 0]
        stat, pvalue, _, _ = chi2_contingency(table, correction=False)
        result["chi"] = {"statistic": float(stat), "p": float(pvalue)}
    out["features"][f["name"]] = result
print(json.dumps(out))
