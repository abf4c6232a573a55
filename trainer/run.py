"""A run directory: what `train` writes and `evaluate` / `predict` read back.

model.keras, config.json (labels, image size, colour mode, threshold, versions, seed,
data fingerprint), split.csv, metrics.json, history.csv, curves.png, confusion.png,
roc.png, report.html, tensorboard/
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from trainer.data import DataError


@dataclass(frozen=True)
class Run:
    path: Path
    config: dict

    @property
    def labels(self) -> list[str]:
        return self.config["labels"]

    @property
    def channels(self) -> int:
        return 1 if self.config["color_mode"] == "grayscale" else 3

    def load_model(self):
        import keras

        return keras.models.load_model(self.path / "model.keras")


def quiet_tensorflow() -> None:
    """Import TensorFlow with its C++ start-up chatter (CUDA probing on CPU machines) muted."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as sink:
            os.dup2(sink.fileno(), 2)
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def open_run(target: Path) -> Run:
    """A run directory, or a model.keras file with its config.json beside it."""
    folder = target.parent if target.suffix == ".keras" else target
    config = folder / "config.json"
    if not (folder / "model.keras").is_file() or not config.is_file():
        raise DataError(f"{target} is not a training run (no model.keras and config.json)")
    return Run(folder.resolve(), json.loads(config.read_text()))


def point_latest(run: Path) -> None:
    """runs/latest → the newest run (a relative symlink, so the folder can move)."""
    latest = run.parent / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(run.name, target_is_directory=True)
