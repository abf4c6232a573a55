"""`train`, `evaluate`, `predict` and `export-model` as functions: what the command line and
`happysad.train` / `happysad.Model` both call.

Each returns what the command's `--json` prints (a dataclass, or the metrics dict of
`evaluate`) and raises the typed errors of `trainer.errors` and `happysad.common.errors`.
TensorFlow is imported by the first call, not by importing this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from happysad.common.progress import Bars
from happysad.common.tf_runtime import quiet_tensorflow
from trainer import data as data_lib
from trainer import export as export_lib
from trainer import face_scoring
from trainer import predict as scoring
from trainer.config import TrainConfig
from trainer.export import Format
from trainer.predict import Prediction
from trainer.run import Run, open_run
from trainer.train import TrainResult

LOGGED = ("loss", "val_loss", "val_accuracy")  # what an epoch's bar shows of its logs


@dataclass(frozen=True)
class ModelExport:
    """A run's model written for another runtime (`export-model`)."""

    run: str
    format: str
    out: str
    files: list[str]
    bytes: int


def train(cfg: TrainConfig, progress: bool | None = None) -> TrainResult:
    """Train a classifier on a labelled folder tree; bars for the faces searched, the folds
    and the epochs where someone watches."""
    quiet_tensorflow()
    from trainer.train import train as run_training

    with Bars(progress) as bars:
        search = bars.add("faces searched")
        folds = bars.add("cross-fit fold", total=cfg.cross_fit) if cfg.cross_fit else None
        epochs = bars.add("epoch", total=cfg.epochs)

        def show(epoch: int, total: int, logs: dict) -> None:
            epochs.update(
                completed=epoch, note=" ".join(f"{k} {v:.3f}" for k, v in logs.items() if k in LOGGED)
            )

        def fold_done(fold: int, total: int) -> None:
            if folds is not None:
                folds.update(completed=fold)

        def searched(done: int, total: int) -> None:
            search.update(completed=done, total=total)

        return run_training(cfg, show, fold_done, searched)


def load(run: Path | str) -> Run:
    """A run directory, its model.keras, or "prior" (the shipped expression model). A run that is
    not one is refused before TensorFlow starts (seconds on a slow processor)."""
    opened = open_run(Path(run))
    quiet_tensorflow()
    return opened


def evaluate(run: Run, data_dir: Path, faces: bool | None = None) -> dict[str, object]:
    """Score a run on a labelled <label>/<images> tree; `faces`: read by the faces (default:
    as the run was trained)."""
    tree = [i.path for i in data_lib.list_tree(data_dir)] if data_dir.is_dir() else []
    on_faces = face_scoring.reads_faces(run, faces, tree)
    return (face_scoring.evaluate_faces if on_faces else scoring.evaluate)(run, data_dir)


def predict(run: Run, paths: list[str], faces: bool | None = None) -> list[Prediction]:
    """A label and a probability per image (files, folders or globs); an unreadable one says why."""
    files = [str(p) for p in scoring.expand(paths) if p.is_file()]
    on_faces = face_scoring.reads_faces(run, faces, files)
    return (face_scoring.predict_faces if on_faces else scoring.predict)(run, paths)


def export_model(run: Run, out: Path, fmt: Format = Format.savedmodel) -> ModelExport:
    """Write the run's model as a SavedModel (TensorFlow Serving) or a .tflite; `out` is replaced whole."""
    files = export_lib.export(run, fmt, out)
    size = sum((out / f).stat().st_size for f in files)
    return ModelExport(str(run.path), fmt.value, str(out), files, size)
