"""Judging the labels with models that never saw them: cross-fit folds (out-of-fold
probabilities), the prior's opinion on face crops, cleanlab's confident learning."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from happysad.common import tables
from happysad.faces.crops import FaceCut
from trainer import data, metrics, splits
from trainer.config import TrainConfig
from trainer.errors import DataError
from trainer.fitting import fit, score_items
from trainer.spec import ModelSpec

# Cross-fit fold models started from another run (the prior) train this share of --epochs: they
# only judge labels, and the prior already reads faces. On FER2013 with 10% of labels flipped
# (bench/faces_kfold.py, the loop) a third found as many flips as the whole budget in a third
# of the time.
FOLD_EPOCHS_FROM_SOURCE = 1 / 3


def fold_probabilities(
    cfg: TrainConfig,
    spec: ModelSpec,
    labels: list[str],
    items: list[data.Item],
    on_fold: Callable[[int, int], None] | None = None,
    others: list[data.Item] | None = None,
) -> tuple[np.ndarray, dict[str, int], np.ndarray]:
    """Out-of-fold probabilities: each image scored by a model trained without its fold (folds
    keep duplicate groups whole), so a memorised label cannot vouch for itself. `others` (the
    test split), which no fold trains on, are scored by the mean of the fold models."""
    index = data.class_index(labels)
    fold_of = splits.folds(items, cfg.cross_fit, cfg.seed)
    for fold in range(cfg.cross_fit):  # all folds checked before the first one trains
        rest = {i.label for i in items if fold_of[i.path] != fold}
        if fold not in fold_of.values() or len(rest) < len(labels):
            raise DataError(
                f"--cross-fit {cfg.cross_fit}: too few images (or groups of copies) for that many folds"
            )
    if spec.source:  # a model that already reads faces needs only a few epochs to judge labels
        cfg = replace(cfg, epochs=max(1, round(cfg.epochs * FOLD_EPOCHS_FROM_SOURCE)))
    out = np.zeros((len(items), len(labels)))
    ensemble = np.zeros((len(others or []), len(labels)))
    for fold in range(cfg.cross_fit):
        held = [n for n, i in enumerate(items) if fold_of[i.path] == fold]
        rest = [i for i in items if fold_of[i.path] != fold]
        fitted = fit(cfg, spec, labels, rest, [])
        out[held] = metrics.probabilities(
            score_items(fitted.model, spec, [items[n] for n in held], index, cfg)
        )
        if others:
            ensemble += (
                metrics.probabilities(score_items(fitted.model, spec, others, index, cfg)) / cfg.cross_fit
            )
        if on_fold is not None:
            on_fold(fold + 1, cfg.cross_fit)
    return out, fold_of, ensemble


def label_issues(given: np.ndarray, probs: np.ndarray, units: list[str] | None = None) -> np.ndarray:
    """Which labels the evidence disputes: cleanlab's confident learning (a boolean mask).

    `units`: what each label was given to. Face crops inherit their picture's label, and a
    picture is scored by its faces together; so a label is judged per picture (its duplicate
    group), on the mean of its crops' probabilities, and a disputed picture leaves all its
    crops out. Judged crop by crop, a "happy people" photo's one unsmiling face was cut, and
    the fine-tune learnt less of how such pictures are labelled (bench/faces_kfold.py).
    """
    from cleanlab.filter import find_label_issues

    if units is not None:
        index = {unit: n for n, unit in enumerate(dict.fromkeys(units))}
        at = np.array([index[u] for u in units])
        counts = np.bincount(at)
        pooled = np.zeros((len(index), probs.shape[1]))
        np.add.at(pooled, at, probs)
        unit_given = np.zeros(len(index), dtype=int)
        unit_given[at] = given  # one label per unit: the export gives a group one label
        return label_issues(unit_given, pooled / counts[:, None])[at]
    if min(np.bincount(given, minlength=probs.shape[1])) < 2:
        return np.zeros(len(given), dtype=bool)  # confident learning needs every class
    return find_label_issues(given, probs, filter_by="prune_by_noise_rate", n_jobs=1)  # no forks beside TF


def evidence_kind(cfg: TrainConfig, spec: ModelSpec, labels: list[str]) -> str | None:
    """What can judge the labels without having trained on them, if anything."""
    if cfg.cross_fit >= 2:
        return "out_of_fold"
    prior = spec.source is not None and spec.source.is_prior and spec.source.labels == labels
    return "prior" if prior else None


def _evidence(
    cfg: TrainConfig,
    spec: ModelSpec,
    labels: list[str],
    pool: list[data.Item],
    test: list[data.Item],
    run: Path,
    on_fold: Callable[[int, int], None] | None,
) -> tuple[str | None, np.ndarray | None]:
    """Probabilities for the training and validation images from models that did not train on
    them: out-of-fold with --cross-fit, else the prior's when training starts from it."""
    kind = evidence_kind(cfg, spec, labels)
    if kind == "out_of_fold":
        probs, fold_of, ensemble = fold_probabilities(cfg, spec, labels, pool, on_fold, test)
        written: dict[str, int | str] = {**fold_of, **{i.path: "test" for i in test}}
        scored = zip(pool + test, np.concatenate([probs, ensemble]), strict=True)
        tables.write_out_of_fold(
            run / tables.OUT_OF_FOLD,
            labels,
            (tables.OutOfFold(i.path, i.label, i.group, str(written[i.path]), tuple(p)) for i, p in scored),
        )
        return kind, probs
    if kind == "prior":
        assert spec.source is not None
        index = data.class_index(labels)
        return kind, metrics.probabilities(score_items(spec.source.load_model(), spec, pool, index, cfg))
    return None, None


@dataclass
class Judged:
    """What judged the labels, whether cleaning was on, and what it left out of training
    (path, given label, label read, its probability; likeliest wrong first)."""

    evidence: str | None
    cleaned: bool
    left_out: list[tuple[str, str, str, float]]


def judge_labels(
    cfg: TrainConfig,
    spec: ModelSpec,
    labels: list[str],
    items: list[data.Item],
    assignment: dict[str, str],
    run: Path,
    faces: FaceCut | None,
    on_fold: Callable[[int, int], None] | None,
) -> Judged:
    """With --cross-fit or --clean-labels, probabilities for the training pool from models that
    never saw it; with --clean-labels, what they dispute moves to the label_issue split (in
    `assignment`). The prior's opinion is only worth computing to clean with; out-of-fold
    probabilities are also kept for review."""
    clean = bool(cfg.clean_labels)  # opt-in: on the seed scrape it did not help (bench/faces_kfold.py)
    if not (clean or cfg.cross_fit):
        return Judged(None, clean, [])
    pool = [i for i in items if assignment[i.path] != "test"]
    test = [i for i in items if assignment[i.path] == "test"]
    evidence, probs = _evidence(cfg, spec, labels, pool, test, run, on_fold)
    if not clean or probs is None:
        return Judged(evidence, clean, [])
    index = data.class_index(labels)
    units = [i.group for i in pool] if faces else None  # crops: judged by picture
    mask = label_issues(np.array([index[i.label] for i in pool]), probs, units)
    assignment.update({i.path: splits.LABEL_ISSUE for i, bad in zip(pool, mask, strict=True) if bad})
    read = probs.argmax(axis=1)
    left_out = [
        (i.path, i.label, labels[read[n]], float(probs[n, read[n]])) for n, i in enumerate(pool) if mask[n]
    ]
    return Judged(evidence, clean, sorted(left_out, key=lambda row: -row[3]))
