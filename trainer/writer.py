"""Writing a run folder: model.keras, config.json (what was asked, chosen and measured),
metrics.json and the report's pictures."""

from __future__ import annotations

import hashlib
import platform
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from happysad.common import tables
from happysad.faces.crops import FaceCut
from trainer import data, metrics, models, report
from trainer.config import TrainConfig
from trainer.evidence import Judged
from trainer.fitting import Fitted, Scored, fine_tune_of
from trainer.record import Metrics, RunConfig, relative_to_run
from trainer.spec import ModelSpec, faces_setting


def fingerprint(items: list[data.Item]) -> str:
    digest = hashlib.sha256()
    for item in sorted(items, key=lambda i: i.path):
        digest.update(f"{Path(item.path).name}\t{item.label}\t{Path(item.path).stat().st_size}\n".encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Used:
    """The data a run used: its labels, every usable image, the splits, what was skipped, and
    how its face crops were cut (None: whole pictures)."""

    labels: list[str]
    items: list[data.Item]
    subsets: dict[str, list[data.Item]]
    skipped: Counter[str]
    faces: FaceCut | None


@dataclass(frozen=True)
class Made:
    """What training made of it: what was trained, the fitted model, its scores, the labels' verdict."""

    spec: ModelSpec
    fitted: Fitted
    scored: Scored
    judged: Judged


def write_run(run: Path, config: RunConfig, used: Used, made: Made) -> None:
    """model.keras, config.json, metrics.json and the pictures, in the run's staging folder."""
    made.fitted.model.save(run / "model.keras")
    config.write(run)
    Metrics(made.scored.results).write(run)
    _report_pictures(run, used, made)


def run_config(
    cfg: TrainConfig, used: Used, made: Made, started: datetime, final: Path, reader: dict | None
) -> RunConfig:
    """config.json: everything predict needs, and everything that says how the run was made."""
    spec, fitted, scored, judged = made.spec, made.fitted, made.scored, made.judged
    source = spec.source
    return RunConfig(
        labels=used.labels,
        image_size=spec.image_size,
        color_mode=spec.color_mode,
        threshold=scored.threshold,
        arch=spec.arch,
        threshold_from=scored.threshold_from,
        flip_tta=spec.arch in models.AUGMENTED,
        faces=faces_setting(used.faces, spec),
        data_dir=str(cfg.data_dir.resolve()),
        data_dir_from_run=relative_to_run(cfg.data_dir, final),
        test_dir=str(cfg.test_dir.resolve()) if cfg.test_dir else None,
        data_fingerprint=fingerprint(used.items),
        shape_from=spec.chosen_by,
        augmentation=fitted.augmentation,
        weight_average=fitted.averaged,
        precision_policy=fitted.policy,
        init={"run": str(source.path), "layers_copied": fitted.layers_copied} if source else None,
        seed=cfg.seed,
        counts={n: len(s) for n, s in used.subsets.items()},
        skipped=dict(used.skipped),
        epochs=cfg.epochs,
        epochs_run=len(fitted.history.get("loss", [])),
        fine_tune=fine_tune_of(cfg, spec),
        batch_size=cfg.batch_size,
        learning_rate=fitted.learning_rate,
        cross_fit=cfg.cross_fit,
        created=started.isoformat(timespec="seconds"),
        versions=versions(),
        train_config={k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        label_cleaning={
            "evidence": judged.evidence,
            "on": judged.cleaned,
            "left_out": len(judged.left_out),
            "out_of_fold": tables.OUT_OF_FOLD if judged.evidence == "out_of_fold" else None,
        },
        reader=reader,
    )


def versions() -> dict[str, str]:
    import keras
    import tensorflow as tf

    return {"tensorflow": tf.__version__, "keras": keras.__version__, "python": platform.python_version()}


def _report_pictures(run: Path, used: Used, made: Made) -> None:
    scored, labels, test_items = made.scored, used.labels, used.subsets["test"]
    y_test, s_test, threshold = scored.truth["test"], scored.scores["test"], scored.threshold
    report.curves(made.fitted.history, run / "curves.png")
    report.confusion(scored.results["test"]["confusion_matrix"], labels, run / "confusion.png", "test")
    report.roc(y_test, s_test, run / "roc.png")
    predicted, confidence = metrics.read(s_test, threshold)
    wrong = [i for i in range(len(y_test)) if predicted[i] != y_test[i]]
    margin = [abs(s_test[i] - threshold) if s_test.ndim == 1 else confidence[i] for i in wrong]
    worst = [wrong[i] for i in np.argsort(margin)[::-1][:16]]
    examples = [
        (test_items[i].path, labels[y_test[i]], labels[predicted[i]], float(confidence[i])) for i in worst
    ]
    report.html_report(run, f"happysad run {run.name}", scored.results, examples, made.judged.left_out)
