"""Headline metrics from labels and scores, with the decision threshold chosen on validation."""

from __future__ import annotations

import numpy as np
from sklearn import metrics


def probabilities(scores: np.ndarray) -> np.ndarray:
    """Model outputs as an (n, classes) probability matrix (a sigmoid column becomes two)."""
    return np.stack([1 - scores, scores], axis=1) if scores.ndim == 1 else scores


def read(scores: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Each image's predicted class index and that class's probability (not P(label 1))."""
    predicted = predictions(scores, threshold)
    return predicted, probabilities(scores)[np.arange(len(predicted)), predicted]


def predictions(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Class indices: sigmoid scores (n,) against the threshold, softmax scores (n, k) by argmax."""
    return (scores >= threshold).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)


# A fine-tune's validation split moves the threshold away from the starting run's only with at
# least this many images of each label; below that its optimum is mostly noise, and the starting
# run's threshold read another scrape's pictures better (bench/cross_scrape.py, "threshold"
# table: a 10-50 per label sample's optimum lost 0.001-0.014 balanced accuracy to the prior's
# threshold on average and did worse in 20-43% of draws; the seed scrape's fine-tune moved it
# from 0.46 to 0.20 on 70 crops).
MOVE_THRESHOLD_AT = 200


def decision_threshold(y_true: np.ndarray, scores: np.ndarray, fallback: float | None) -> tuple[float, str]:
    """The threshold a run uses, and where it came from ("validation" or "fallback"). Without a
    fallback (a model from scratch) the validation optimum is all there is."""
    if scores.ndim != 1:
        return 0.5, "argmax"
    counts = np.bincount(y_true, minlength=2)
    if fallback is None or counts.min() >= MOVE_THRESHOLD_AT:
        return choose_threshold(y_true, scores), "validation"
    return fallback, "fallback"


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
