"""Reference classification metrics from scikit-learn for Vigil's monitor tests.

Reads JSON {classes, y_true, y_pred, scores} on stdin, writes the figures as JSON.
Expected calibration error has no scikit-learn function; it is computed here with numpy over
10 equal-width confidence bins, the last one closed at 1.0.
"""
import json
import sys

import numpy as np
from sklearn.metrics import (accuracy_score, brier_score_loss, confusion_matrix, log_loss,
                             precision_recall_fscore_support, roc_auc_score)

d = json.load(sys.stdin)
classes, y_true, y_pred = d["classes"], d["y_true"], d["y_pred"]
scores = np.array(d["scores"], dtype=np.float64)
k = len(classes)
out = {"rows": len(y_true)}
p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=classes, zero_division=0)
out["per_class"] = [{"precision": p[i], "recall": r[i], "f1": f[i], "support": int(s[i])} for i in range(k)]
for avg in ("macro", "micro", "weighted"):
    ap, ar, af, _ = precision_recall_fscore_support(y_true, y_pred, labels=classes, average=avg, zero_division=0)
    out[avg] = {"precision": ap, "recall": ar, "f1": af}
out["accuracy"] = accuracy_score(y_true, y_pred)
out["confusion"] = confusion_matrix(y_true, y_pred, labels=classes).tolist()
truth = np.array([classes.index(t) for t in y_true])
per_class_auc = []
for c in range(k):
    positive = truth == c
    per_class_auc.append(roc_auc_score(positive, scores[:, c]) if 0 < positive.sum() < len(truth) else None)
out["auc_per_class"] = per_class_auc
if k == 2:
    out["auc"] = per_class_auc[1]
    out["brier"] = brier_score_loss(truth == 1, scores[:, 1])
else:
    out["auc"] = roc_auc_score(truth, scores, multi_class="ovr", labels=list(range(k))) if all(v is not None for v in per_class_auc) else None
    out["brier"] = None
out["log_loss"] = log_loss(truth, scores, labels=list(range(k)))
confidence = scores.max(axis=1)
correct = (np.array(y_true) == np.array(y_pred)).astype(float)
bins = np.minimum(np.floor(confidence * 10).astype(int), 9)
out["ece"] = sum(abs(correct[bins == b].sum() - confidence[bins == b].sum()) for b in range(10)) / len(y_true)
out["calibration"] = [
    {"lower": b / 10, "upper": (b + 1) / 10, "rows": int((bins == b).sum()), "meanConfidence": float(confidence[bins == b].mean()), "accuracy": float(correct[bins == b].mean())}
    for b in range(10) if (bins == b).any()
]
print(json.dumps(out))
