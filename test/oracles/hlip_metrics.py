"""Oracle for src/eval/metrics: HLIP's zero-shot figures computed the way its scripts call sklearn (roc_auc_score,
f1_score, balanced_accuracy_score), on cases given as JSON. Independent code (Debian's python3-sklearn + numpy).

stdin: {"cases": [{"set", "classes", "labels" [[0/1]], "logits" [[float]], "draws" [[row indices]]}]}
stdout: {"results": [{"values": {key: value|null}, "draws": [{key: value|null}], "intervals": {key: [lo, hi, defined]}}]}
"""
import json
import sys
import warnings

import numpy as np
from sklearn.metrics import balanced_accuracy_score, f1_score, roc_auc_score

warnings.simplefilter("ignore")

RSNA = ["Intracranial hemorrhage", "Intraparenchymal hemorrhage", "Intraventricular hemorrhage", "Subarachnoid hemorrhage", "Subdural hemorrhage"]


def auc_or_nan(y, s, **kw):
    try:
        return float(roc_auc_score(y, s, **kw))
    except ValueError:
        return float("nan")


def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def macro_set(name, classes, gt, pred):
    out = {}
    keys = RSNA if name == "rsna" else classes
    for i, k in enumerate(keys):
        y = gt[:, i]
        out[f"auc ({k})"] = float(roc_auc_score(y, pred[:, i])) if len(np.unique(y)) > 1 else float("nan")
    out[f"auc ({name})"] = auc_or_nan(gt, pred, average="macro", multi_class="ovr")
    return out


def pubbrain5(gt, pred):
    out = {}
    aucs, f1s, bas = [], [], []
    for disease, c in [("stroke", 1), ("glioma", 2), ("meningioma", 3), ("metastasis", 4)]:
        mask = gt[:, 0] + gt[:, c] == 1
        y = gt[mask, c].astype(int)
        score = softmax(pred[mask][:, [0, c]])[:, 1] if mask.any() else np.zeros(0)
        yp = (score >= 0.5).astype(int)
        a = auc_or_nan(y, score)
        f = float(f1_score(y, yp, average="weighted", zero_division=0))
        b = float(balanced_accuracy_score(y, yp))
        out[f"auc (pubbrain5_anomaly_{disease})"], out[f"weighted_f1 (pubbrain5_anomaly_{disease})"], out[f"balanced_acc (pubbrain5_anomaly_{disease})"] = a, f, b
        aucs.append(a), f1s.append(f), bas.append(b)
    out["auc (pubbrain5_anomaly)"] = float(np.nanmean(aucs))
    out["weighted_f1 (pubbrain5_anomaly)"] = float(np.nanmean(f1s))
    out["balanced_acc (pubbrain5_anomaly)"] = float(np.nanmean(bas))

    def multi(task, y_true, score, names, truth):
        y_pred = score.argmax(axis=1) if len(score) else np.zeros(0, dtype=int)
        out[f"auc (pubbrain5_{task})"] = auc_or_nan(truth, score, average="macro", multi_class="ovr")
        out[f"weighted_f1 (pubbrain5_{task})"] = float(f1_score(y_true, y_pred, average="weighted", zero_division=0))
        out[f"balanced_acc (pubbrain5_{task})"] = float(balanced_accuracy_score(y_true, y_pred))
        for i, name in enumerate(names):
            yb = (y_true == i).astype(int)
            sb = score[:, i]
            pb = (sb >= 0.5).astype(int)
            out[f"auc (pubbrain5_{task}_{name})"] = auc_or_nan(yb, sb)
            out[f"weighted_f1 (pubbrain5_{task}_{name})"] = float(f1_score(yb, pb, average="weighted", zero_division=0))
            out[f"balanced_acc (pubbrain5_{task}_{name})"] = float(balanced_accuracy_score(yb, pb))

    tmask = gt[:, [2, 3, 4]].sum(axis=1) == 1
    yt = gt[tmask][:, [2, 3, 4]].argmax(axis=1) if tmask.any() else np.zeros(0, dtype=int)
    st = softmax(pred[tmask][:, [2, 3, 4]]) if tmask.any() else np.zeros((0, 3))
    multi("tumor", yt, st, ["glioma", "meningioma", "metastasis"], np.eye(3, dtype=int)[yt])
    yd = gt.argmax(axis=1) if len(gt) else np.zeros(0, dtype=int)
    sd = softmax(pred) if len(pred) else np.zeros((0, 5))
    multi("disease", yd, sd, ["normal", "stroke", "glioma", "meningioma", "metastasis"], gt)
    return out


def figures(case, rows):
    C = len(case["classes"])
    gt = np.asarray(case["labels"], dtype=int).reshape(-1, C)[rows]
    pred = np.asarray(case["logits"], dtype=np.float64).reshape(-1, C)[rows]
    if case["set"] == "pubbrain5":
        return pubbrain5(gt, pred)
    return macro_set(case["set"], case["classes"], gt, pred)


def clean(d):
    return {k: (None if v != v else v) for k, v in d.items()}


cases = json.load(sys.stdin)["cases"]
results = []
for case in cases:
    n = len(case["labels"])
    draws = [figures(case, np.asarray(d, dtype=int)) for d in case.get("draws", [])]
    intervals = {}
    for k in (draws[0] if draws else {}):
        v = np.asarray([d[k] for d in draws], dtype=np.float64)
        v = v[~np.isnan(v)]
        intervals[k] = [float(x) for x in np.percentile(v, [2.5, 97.5])] + [int(len(v))] if len(v) else [None, None, 0]
    results.append({"values": clean(figures(case, np.arange(n, dtype=int))), "draws": [clean(d) for d in draws], "intervals": intervals})
json.dump({"results": results}, sys.stdout)
