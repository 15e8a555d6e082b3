"""Reference confidence-based performance estimation (CBPE) for Vigil's tests, with numpy and scikit-learn.

Reads JSON on stdin:
  {"classes": [...],
   "reference": {"labels": [class index], "predictions": [class index], "scores": [[per class]]} or null,
   "analysis": {"predictions": [class index], "scores": [[per class]]}}
and writes the calibrators, the sampling-error components and the estimate of the analysis rows
as JSON. Without a reference every class's scores are used as they are (no calibration).

Written from the formulas in the shared CBPE spec (NannyML 0.13.1), not from Vigil's code:
- calibration: scikit-learn's IsotonicRegression(increasing=True, out_of_bounds="clip"), kept when
  the out-of-fold expected calibration error beats the raw one. The check uses Vigil's documented
  deterministic folds (each target value's rows, by score, dealt into 10 folds in turn) and 10
  equal-count bins over the rows sorted by score (negatives first on ties), where NannyML uses
  random stratified splits;
- binary models calibrate the last class's score; multiclass models each class one-vs-rest, then
  divide each row by its sum (uniform when it sums to 0);
- expected confusion cells, precision, recall, F1 (0 for a zero denominator), accuracy;
- ROC AUC: rows by uncalibrated score descending, cumulative calibrated probability as TP and
  rows-so-far minus it as FP, both rounded to 5 decimals, (0, 0) prepended, trapezoid rule;
- standard errors from the reference's components, std / sqrt(n * share) (ROC AUC: for each
  positive of the rarer class, the share of negatives ranked below it, tied negatives below);
  macro figures sqrt(sum v_k / (n f_k)) / K, the multiclass macro ROC AUC times 1.2.
"""
import json
import sys

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import auc, roc_auc_score

FOLDS = 10
BINS = 10


def ece(p, y):
    n = len(p)
    order = np.lexsort((y, p))
    total = 0.0
    for b in range(BINS):
        lo, hi = b * n // BINS, (b + 1) * n // BINS
        if hi > lo:
            part = order[lo:hi]
            total += (hi - lo) / n * abs(p[part].mean() - y[part].mean())
    return total


def calibrate(s, t):
    identity = {"calibrated": False, "thresholds": [], "values": [], "ece_raw": None, "ece_calibrated": None}
    if len(s) < 2 * BINS or t.sum() in (0, len(t)) or roc_auc_score(t, s) > 0.999:
        return identity, None
    fold = np.empty(len(t), dtype=int)
    for v in (0, 1):
        rows = np.flatnonzero(t == v)
        fold[rows[np.argsort(s[rows], kind="stable")]] = np.arange(len(rows)) % FOLDS
    out_of_fold = np.empty(len(s))
    for f in range(FOLDS):
        train = fold != f
        model = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(s[train], t[train])
        out_of_fold[~train] = model.predict(s[~train])
    raw, calibrated = ece(s, t), ece(out_of_fold, t)
    if not raw > calibrated:
        return {**identity, "ece_raw": raw, "ece_calibrated": calibrated}, None
    model = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(s, t)
    return {"calibrated": True, "thresholds": model.X_thresholds_.tolist(), "values": model.y_thresholds_.tolist(),
            "ece_raw": raw, "ece_calibrated": calibrated}, model


def std_share(values, rows, n):
    return {"std": float(np.std(values)) if len(values) else None, "share": rows / n}


def components(labels, predictions, scores, k):
    n = len(labels)
    out = {"accuracy_std": float(np.std((labels == predictions).astype(float))), "per_class": []}
    for c in range(k):
        y, p, s = (labels == c).astype(int), (predictions == c).astype(int), scores[:, c]
        tp, relevant = int(((y == 1) & (p == 1)).sum()), int(((y == 1) | (p == 1)).sum())
        scale = relevant / (tp + 0.5 * (relevant - tp))
        f1_values = np.where((y == 1) & (p == 1), scale, 0.0)[(y == 1) | (p == 1)]
        if y.mean() > 0.5:
            y, s = 1 - y, 1 - s
        order = np.lexsort((y, s))
        ranked = y[order]
        negatives = len(y) - y.sum()
        positions = np.flatnonzero(ranked == 1)
        below = (positions - np.arange(len(positions))) / negatives
        out["per_class"].append({
            "precision": std_share((labels == c).astype(float)[predictions == c], int((predictions == c).sum()), n),
            "recall": std_share((predictions == c).astype(float)[labels == c], int((labels == c).sum()), n),
            "f1": std_share(f1_values, relevant, n),
            "roc_auc": std_share(below, int(y.sum()), n),
        })
    return out


def se(component, n):
    if component["std"] is None or component["share"] == 0:
        return None
    return component["std"] / np.sqrt(n * component["share"])


def macro_se(parts, n, k):
    if any(p["std"] is None or p["share"] == 0 for p in parts):
        return None
    return float(np.sqrt(sum(p["std"] ** 2 / (n * p["share"]) for p in parts)) / k)


def estimated_auc(raw, q):
    order = np.argsort(-raw, kind="stable")
    cumulative = np.cumsum(q[order])
    tps = np.r_[0, np.round(cumulative, 5)]
    fps = np.r_[0, np.round(np.arange(1, len(q) + 1) - cumulative, 5)]
    if tps[-1] == 0 or fps[-1] == 0:
        return None
    return float(auc(fps / fps[-1], tps / tps[-1]))


def main():
    d = json.load(sys.stdin)
    k = len(d["classes"])
    binary = k == 2
    calibrated_classes = [1] if binary else list(range(k))
    models = [None] * len(calibrated_classes)
    out = {}
    reference = d.get("reference")
    if reference:
        labels, predictions = np.array(reference["labels"]), np.array(reference["predictions"])
        scores = np.array(reference["scores"], dtype=np.float64)
        out["calibrators"] = []
        for i, c in enumerate(calibrated_classes):
            fitted, models[i] = calibrate(scores[:, c], (labels == c).astype(float))
            out["calibrators"].append(fitted)
        out["components"] = components(labels, predictions, scores, k)
    predictions = np.array(d["analysis"]["predictions"])
    raw = np.array(d["analysis"]["scores"], dtype=np.float64)
    n = len(predictions)
    calibrated = [models[i].predict(raw[:, c]) if models[i] is not None else raw[:, c] for i, c in enumerate(calibrated_classes)]
    if binary:
        q = np.column_stack([1 - calibrated[0], calibrated[0]])
    else:
        r = np.column_stack(calibrated)
        total = r.sum(axis=1)
        q = np.where(total[:, None] == 0, 1 / k, r / np.where(total == 0, 1, total)[:, None])
    confusion = [[float(q[predictions == j, i].sum()) for j in range(k)] for i in range(k)]
    per_class = []
    for c in range(k):
        chosen = predictions == c
        tp, fp = q[chosen, c].sum(), (1 - q[chosen, c]).sum()
        fn = q[~chosen, c].sum()
        ratio = lambda a, b: float(a / b) if b != 0 else 0.0
        per_class.append({"precision": ratio(tp, tp + fp), "recall": ratio(tp, tp + fn), "f1": ratio(tp, tp + 0.5 * (fp + fn)),
                          "roc_auc": estimated_auc(raw[:, c], q[:, c])})
    estimate = {
        "rows": n,
        "accuracy": float(q[np.arange(n), predictions].mean()),
        "per_class": per_class,
        "macro": {m: float(np.mean([p[m] for p in per_class])) for m in ("precision", "recall", "f1")},
        "confusion": confusion,
    }
    aucs = [p["roc_auc"] for p in per_class]
    estimate["roc_auc"] = aucs[1] if binary else (float(np.mean(aucs)) if all(a is not None for a in aucs) else None)
    if reference:
        comp = out["components"]
        errors = {"accuracy": float(comp["accuracy_std"] / np.sqrt(n)), "per_class": [], "macro": {}}
        for p in comp["per_class"]:
            errors["per_class"].append({m: se(p[m], n) for m in ("precision", "recall", "f1", "roc_auc")})
        for m in ("precision", "recall", "f1"):
            errors["macro"][m] = macro_se([p[m] for p in comp["per_class"]], n, k)
        auc_macro = macro_se([p["roc_auc"] for p in comp["per_class"]], n, k)
        errors["roc_auc"] = errors["per_class"][1]["roc_auc"] if binary else (None if auc_macro is None else 1.2 * auc_macro)
        estimate["sampling_error"] = errors
    out["estimate"] = estimate
    print(json.dumps(out))


main()
