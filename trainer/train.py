"""`train`: split, fit, choose the threshold on validation, score validation and test, report."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import numpy as np

from happysad.common import tables
from happysad.common.files import fresh_folder
from happysad.faces.crops import FaceCut, read_cut
from trainer import compare, data, metrics, reader, splits
from trainer.config import TrainConfig
from trainer.errors import DataError
from trainer.evidence import evidence_kind, judge_labels
from trainer.fitting import callbacks_for, fit, score, score_items
from trainer.predict import WHOLE_FRAME
from trainer.run import PRIOR_DIR, open_run, point_latest
from trainer.spec import ModelSpec, faces_setting, model_spec
from trainer.writer import Made, Used, run_config, write_run

PRIOR_ON_TEST = "prior on test"  # metrics.json: the shipped prior alone on a face run's test crops


@dataclass
class TrainResult:
    run: str
    labels: list[str]
    counts: dict[str, int]
    skipped: dict[str, int]
    epochs_run: int
    seconds: float
    images_per_second: float
    metrics: dict[str, dict] = field(default_factory=dict)
    compared_to: compare.Comparison | None = None
    label_issues: int = 0
    evidence: str | None = None  # what judged the labels: "out_of_fold", "prior", or None
    vs_prior: dict[str, float] | None = None  # face runs: test figures minus the prior's on the same crops
    vs_prior_within_noise: list[str] | None = None  # of those, the moves inside the test's 95% interval
    fine_tune: str | None = None  # the recipe, when the run started from another's weights
    read_by: str = WHOLE_FRAME  # the reader the run gives predict, evaluate and serve
    reader_chosen: str = ""  # why (trainer.reader)
    pictures: dict[str, object] | None = None  # face runs cut from pictures: the folder, how many had a face


def _split(cfg: TrainConfig, labels: list[str]) -> tuple[list[data.Item], Counter[str], dict[str, str]]:
    """Readable images, skipped ones by reason, and each image's split (groups kept whole)."""
    items, skipped = data.usable(data.list_tree(cfg.data_dir))
    empty = [label for label in labels if not any(i.label == label for i in items)]
    if empty:
        raise DataError(f"{cfg.data_dir}: no readable image labelled {', '.join(empty)}")
    if cfg.test_dir is None:
        return items, skipped, splits.assign(items, (0.7, 0.2, 0.1), cfg.seed)
    test_items, test_skipped = data.usable(data.list_tree(cfg.test_dir))
    assignment = splits.assign(items, (0.9, 0.1), cfg.seed)  # validation only picks epoch and threshold
    assignment.update({i.path: "test" for i in test_items})
    return items + [i for i in test_items if i.label in labels], skipped + test_skipped, assignment


def train(
    cfg: TrainConfig,
    on_epoch: Callable[[int, int, dict], None] | None = None,
    on_fold: Callable[[int, int], None] | None = None,
    on_search: Callable[[int, int], None] | None = None,
) -> TrainResult:
    """Choose the reader (a picture export of people is cut into faces), then `train_on`."""
    _labels(cfg.data_dir)
    choice = reader.choose(cfg, on_search)
    pictures = None
    if choice.crops is not None and choice.crops != cfg.data_dir:
        pictures = {"folder": str(cfg.data_dir), "searched": choice.pictures, "with_face": choice.with_face}
        test_dir = cfg.test_dir and reader.cut(cfg.test_dir, on_search).crops
        cfg = replace(cfg, data_dir=choice.crops, test_dir=test_dir)
    read = {"read_by": choice.reader, "chosen": choice.why, "pictures": pictures}
    result = train_on(cfg, on_epoch, on_fold, read)
    result.read_by, result.reader_chosen, result.pictures = choice.reader, choice.why, pictures
    return result


def _labels(folder: Path) -> list[str]:
    labels = data.labels_of(folder) if folder.is_dir() else []
    if len(labels) < 2:
        raise DataError(f"{folder} needs at least two label folders, found {labels or 'none'}")
    return labels


def train_on(
    cfg: TrainConfig,
    on_epoch: Callable[[int, int, dict], None] | None = None,
    on_fold: Callable[[int, int], None] | None = None,
    read: dict | None = None,
) -> TrainResult:
    """Split, choose the shape, judge the labels (optional), fit, score, write the run."""
    labels = _labels(cfg.data_dir)
    import keras

    started = datetime.now()
    keras.utils.set_random_seed(cfg.seed)
    items, skipped, assignment = _split(cfg, labels)
    faces = read_cut(cfg.data_dir)
    spec = model_spec(cfg, items, faces)
    if cfg.clean_labels and evidence_kind(cfg, spec, labels) is None:
        raise DataError(
            "--clean-labels needs evidence from models that did not see the labels: "
            "--cross-fit K, or face crops trained from the prior"
        )
    final = cfg.out or Path("runs") / f"{started:%Y%m%d-%H%M%S}-{spec.arch}"
    with fresh_folder(final) as run:  # built beside, swapped in whole; a killed run's swap is undone
        judged = judge_labels(cfg, spec, labels, items, assignment, run, faces, on_fold)
        rows = (tables.Split(i.path, i.label, i.group, assignment[i.path]) for i in items)
        tables.write_splits(run / tables.SPLIT_FILE, rows)
        subsets = _subsets(items, assignment)
        keras.utils.set_random_seed(cfg.seed)  # the same model whether or not folds were trained first
        fit_start = datetime.now()
        callbacks = callbacks_for(cfg, run, on_epoch)
        fitted = fit(cfg, spec, labels, subsets["train"], subsets["validation"], callbacks)
        seconds = (datetime.now() - fit_start).total_seconds()
        scored = score(cfg, spec, fitted.model, labels, subsets)
        beside = _beside_prior(cfg, labels, subsets["test"], faces_setting(faces, spec))
        if beside is not None:
            scored.results[PRIOR_ON_TEST] = beside
        used = Used(labels, items, subsets, skipped, faces)
        made = Made(spec, fitted, scored, judged)
        config = run_config(cfg, used, made, started, final, read)
        write_run(run, config, used, made)
    run = final
    comparison = compare.compare(run, config, scored.results)
    point_latest(run)
    epochs_run = config.epochs_run
    n_train = len(subsets["train"]) * epochs_run
    return TrainResult(
        run=str(run),
        labels=labels,
        counts=config.counts,
        skipped=dict(skipped),
        epochs_run=epochs_run,
        seconds=round(seconds, 1),
        images_per_second=round(n_train / seconds, 1) if seconds else 0.0,
        metrics=scored.results,
        compared_to=comparison,
        label_issues=len(judged.left_out),
        evidence=judged.evidence,
        vs_prior=compare.delta(scored.results["test"], beside) if beside else None,
        vs_prior_within_noise=compare.within_noise(scored.results["test"], beside) if beside else None,
        fine_tune=config.fine_tune,
    )


def _beside_prior(
    cfg: TrainConfig, labels: list[str], test: list[data.Item], faces: FaceCut | None
) -> dict | None:
    """A face run's test crops read by the prior alone, at its own threshold: the figure that
    says whether training on this data helped at all (on new photos it often does not)."""
    prior = open_run(PRIOR_DIR)
    if not faces or prior.labels != labels:
        return None
    spec = ModelSpec.of_run(prior)
    index = data.class_index(labels)
    scores = score_items(prior.load_model(), spec, test, index, cfg)
    truth = np.array([index[i.label] for i in test])
    return metrics.summarise(truth, scores, prior.config.threshold, labels)


def _subsets(items: list[data.Item], assignment: dict[str, str]) -> dict[str, list[data.Item]]:
    """The images of each split fit and scoring use; none may be empty."""
    subsets = {
        name: [i for i in items if assignment[i.path] == name] for name in ("train", "validation", "test")
    }
    for name, subset in subsets.items():
        if not subset:
            raise DataError(f"the {name} split is empty: {len(items)} usable images are too few")
    return subsets
