"""Reconstruction-error drift figures from scikit-learn for Vigil's tests (NannyML's recipe).

Reads JSON {"reference": [[row], ...], "current": [[row], ...], "categorical": [bool, ...]} on
stdin (null for a missing value). Fits on the reference: most-frequent / mean imputation,
frequency encoding of categorical columns (unseen categories encode to 0), StandardScaler, and
PCA(n_components=0.65). Writes the number of components, their explained-variance ratios and the
reconstruction error of every reference and current row.
"""
import json
import sys

import numpy as np
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler

d = json.load(sys.stdin)
categorical = d["categorical"]
reference = np.array(d["reference"], dtype=np.float64)
current = np.array(d["current"], dtype=np.float64)


def fit_column(j):
    strategy = "most_frequent" if categorical[j] else "mean"
    imputer = SimpleImputer(strategy=strategy).fit(reference[:, [j]])
    imputed = imputer.transform(reference[:, [j]])[:, 0]
    if not categorical[j]:
        return lambda x: imputer.transform(x[:, [j]])[:, 0]
    codes, counts = np.unique(np.round(imputed), return_counts=True)
    shares = dict(zip(codes.tolist(), (counts / len(imputed)).tolist()))
    return lambda x: np.array([shares.get(v, 0.0) for v in np.round(imputer.transform(x[:, [j]])[:, 0]).tolist()])


encoders = [fit_column(j) for j in range(reference.shape[1])]
encode = lambda x: np.column_stack([e(x) for e in encoders])
scaler = StandardScaler().fit(encode(reference))
pca = PCA(n_components=0.65, random_state=16).fit(scaler.transform(encode(reference)))


def errors(x):
    z = scaler.transform(encode(x))
    return np.linalg.norm(z - pca.inverse_transform(pca.transform(z)), axis=1).tolist()


print(json.dumps({
    "components": int(pca.n_components_),
    "ratios": pca.explained_variance_ratio_.tolist(),
    "reference_errors": errors(reference),
    "current_errors": errors(current),
}))
