"""Headline metrics from labels and scores, with the decision threshold chosen on validation.

scikit-learn and scipy.stats are imported where they are used, so a trainer command that only
prints --help or refuses an argument starts in 0.4 s, not 2 s. A command that reads a model
loads them anyway: TensorFlow imports Keras, and Keras imports both."""

from __future__ import annotations

import numpy as np


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
    from sklearn import metrics

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
    from sklearn import metrics

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
    out |= {f"{key}{CI}": value for key, value in intervals(y_true, scores, y_pred).items()}
    if len(y_true) < FEW:
        out["warning"] = few_warning(len(y_true))
    if both:
        if binary:
            out["roc_auc"] = float(metrics.roc_auc_score(y_true, scores))
            out["pr_auc"] = float(metrics.average_precision_score(y_true, scores))
        else:
            out["roc_auc"] = float(
                metrics.roc_auc_score(y_true, scores, multi_class="ovr", labels=range(len(labels)))
            )
    return out


CI = "_ci95"  # a figure's 95% interval sits beside it under this suffix: "accuracy_ci95": [lo, hi]
FEW = 100  # below this many scored pictures a figure cannot tell two models apart
RESAMPLES = 2000  # bootstrap draws: over 10 seeds at n = 100 the ends moved by at most 0.011 (0.015 at 1000)


def few_warning(n: int) -> str:
    return (
        f"only {n} pictures scored: their figures cannot tell models apart; "
        "score pictures from another scrape (evaluate RUN OTHER_DIR) for an honest check"
    )


def wilson(successes: int, trials: int) -> list[float] | None:
    """95% Wilson score interval of a proportion (sound at small n and near 0 or 1)."""
    from scipy import stats

    if trials == 0:
        return None
    ci = stats.binomtest(successes, trials).proportion_ci(confidence_level=0.95, method="wilson")
    return [round(float(ci.low), 4), round(float(ci.high), 4)]


def intervals(y_true: np.ndarray, scores: np.ndarray, y_pred: np.ndarray) -> dict[str, list[float] | None]:
    """95% intervals: Wilson for the proportions (accuracy; precision and recall of the second
    label), a stratified percentile bootstrap for balanced accuracy and ROC-AUC."""
    out = {"accuracy": wilson(int((y_true == y_pred).sum()), len(y_true))}
    if scores.ndim == 1:
        out["precision"] = wilson(int((y_pred & y_true).sum()), int(y_pred.sum()))
        out["recall"] = wilson(int((y_pred & y_true).sum()), int(y_true.sum()))
    classes = len(set(y_true.tolist()))
    out["balanced_accuracy"] = _bootstrap(y_true, y_pred, _balanced_accuracy) if classes > 1 else None
    out["roc_auc"] = _bootstrap(y_true, scores, _roc_auc) if classes == 2 and scores.ndim == 1 else None
    return out


def _bootstrap(y_true: np.ndarray, values: np.ndarray, statistic) -> list[float]:
    """Percentile interval over resamples drawn within each label (as pROC does for AUC), so
    every resample holds every label and the statistic is always defined. Seeded: the same
    figures give the same interval."""
    rng = np.random.default_rng(0)
    draws = np.concatenate(
        [
            rng.choice(np.flatnonzero(y_true == c), size=(RESAMPLES, int((y_true == c).sum())))
            for c in np.unique(y_true)
        ],
        axis=1,
    )
    spread = statistic(y_true[draws], values[draws])
    low, high = np.percentile(spread, [2.5, 97.5])
    return [round(float(low), 4), round(float(high), 4)]


def _balanced_accuracy(y: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Mean recall over the labels, one value per row (a resample)."""
    recalls = [((y == c) & (predicted == c)).sum(1) / (y == c).sum(1) for c in np.unique(y)]
    return np.mean(recalls, axis=0)


def _roc_auc(y: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """ROC-AUC per row, as the Mann-Whitney U statistic (ties count half)."""
    from scipy import stats

    ranks = stats.rankdata(scores, axis=1)
    positives = y.sum(1)
    negatives = y.shape[1] - positives
    return (np.where(y == 1, ranks, 0).sum(1) - positives * (positives + 1) / 2) / (positives * negatives)


def shown(figures: dict, key: str) -> str:
    """A figure for people: '0.812 [0.77, 0.85]' with its interval when it has one."""
    value, ci = figures.get(key), figures.get(key + CI)
    if not isinstance(value, float):
        return str(value)
    return f"{value:.3f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")
