"""Headline metrics from labels and scores, with the decision threshold chosen on validation."""

from __future__ import annotations

import numpy as np
from sklearn import metrics


def predictions(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Class indices: sigmoid scores (n,) against the threshold, softmax scores (n, k) by argmax."""
    return (scores >= threshold).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)


def choose_threshold(y_true: np.ndarray, scores: np.ndarray) -> float:
    """The sigmoid threshold with the best balanced accuracy (ties: closest to 0.5)."""
    if scores.ndim != 1 or len(set(y_true.tolist())) < 2:
        return 0.5
    candidates = np.unique(np.concatenate([scores, [0.5]]))
    best = max(
        candidates,
        key=lambda t: (metrics.balanced_accuracy_score(y_true, scores >= t), -abs(t - 0.5)),
    )
    return float(best)


def summarise(
    y_true: np.ndarray, scores: np.ndarray, threshold: float, labels: list[str]
) -> dict[str, object]:
    """accuracy, balanced accuracy, precision, recall, ROC-AUC, PR-AUC, confusion matrix, n."""
    y_pred = predictions(scores, threshold)
    binary = scores.ndim == 1
    average = "binary" if binary else "macro"
    both = len(set(y_true.tolist())) > 1
    out: dict[str, object] = {
        "n": len(y_true),
        "threshold": threshold,
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(metrics.balanced_accuracy_score(y_true, y_pred)) if both else None,
        "precision": float(metrics.precision_score(y_true, y_pred, average=average, zero_division=0)),
        "recall": float(metrics.recall_score(y_true, y_pred, average=average, zero_division=0)),
        "roc_auc": None,
        "pr_auc": None,
        "confusion_matrix": metrics.confusion_matrix(y_true, y_pred, labels=range(len(labels))).tolist(),
        "labels": labels,
    }
    if both:
        if binary:
            out["roc_auc"] = float(metrics.roc_auc_score(y_true, scores))
            out["pr_auc"] = float(metrics.average_precision_score(y_true, scores))
        else:
            out["roc_auc"] = float(
                metrics.roc_auc_score(y_true, scores, multi_class="ovr", labels=range(len(labels)))
            )
    return out
