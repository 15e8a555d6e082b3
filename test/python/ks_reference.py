"""Two-sample Kolmogorov-Smirnov figures from scipy for Vigil's tests.

Reads JSON [{"a": [...], "b": [...]}, ...] on stdin; writes [{"statistic", "p", "p_asymp"}, ...]
with scipy.stats.ks_2samp in its default ("auto") mode and in asymptotic mode.
"""
import json
import sys

from scipy.stats import ks_2samp

pairs = json.load(sys.stdin)
out = []
for pair in pairs:
    auto = ks_2samp(pair["a"], pair["b"])
    asymp = ks_2samp(pair["a"], pair["b"], method="asymp")
    out.append({"statistic": float(auto.statistic), "p": float(auto.pvalue), "p_asymp": float(asymp.pvalue)})
print(json.dumps(out))
