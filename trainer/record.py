"""A run's record, each file typed, read and written in one place: config.json (`RunConfig`:
what predicting needs, and how the run was made) and metrics.json (`Metrics`: the figures of
each scored split). A run folder may come from elsewhere, so everything read is checked here,
whoever reads it: `open_run`, `compare`, the prior's script and the benchmarks alike.

    >>> config = RunConfig.read(Path("trainer/prior") / CONFIG)
    >>> config.labels, config.faces.min_face
    (['happy', 'sad'], 24)
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from types import NoneType
from typing import get_args, get_type_hints

from happysad.common.errors import HappysadError
from happysad.common.json_files import read_object
from happysad.common.labels import is_label
from happysad.faces.crops import FaceCut
from trainer.data import COLOR_MODES, MAX_IMAGE_SIZE, channels_of
from trainer.errors import DataError

CONFIG, METRICS = "config.json", "metrics.json"
NEEDED = ("labels", "image_size", "color_mode", "threshold", "arch")  # what predicting needs
# a run's config.json and metrics.json are a few kilobytes; a run folder from elsewhere is
# untrusted input, and a padded one must not be parsed whole
MAX_RECORD_BYTES = 2**20


@dataclass(frozen=True)
class RunConfig:
    """config.json. The first five fields are what predicting needs; the others say how the
    run was made (older runs, and the prior, lack some of them: they default to None/empty)."""

    labels: list[str]
    image_size: int
    color_mode: str
    threshold: float
    arch: str
    threshold_from: str | None = None
    flip_tta: bool = False
    faces: FaceCut | None = None  # how pictures are cut into faces; None: read whole
    data_dir: str | None = None
    data_dir_from_run: str | None = None  # data_dir relative to the run: see data_dir_of
    test_dir: str | None = None
    data_fingerprint: str | None = None
    shape_from: dict = field(default_factory=dict)
    augmentation: str | None = None
    weight_average: bool = False
    precision_policy: str | None = None
    init: dict | None = None  # {"run": its folder, "layers_copied": n} when started from a run
    seed: int | None = None
    counts: dict = field(default_factory=dict)  # images per split
    skipped: dict = field(default_factory=dict)  # files left out, by reason
    epochs: int | None = None
    epochs_run: int = 0
    fine_tune: str | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    cross_fit: int = 0
    created: str = ""
    versions: dict = field(default_factory=dict)
    train_config: dict = field(default_factory=dict)  # what was asked (TrainConfig)
    label_cleaning: dict = field(default_factory=dict)
    reader: dict | None = None  # how the pictures were read (faces or whole) and why
    name: str | None = None
    commit: str | None = None

    @property
    def channels(self) -> int:
        return channels_of(self.color_mode)

    def to_json(self) -> dict:
        return {"channels": self.channels, "rescale": 1 / 255} | asdict(self)

    def write(self, folder: Path) -> None:
        (folder / CONFIG).write_text(json.dumps(self.to_json(), indent=2))

    @classmethod
    def of(cls, settings: dict, where: Path) -> RunConfig:
        """Checked: DataError naming what is missing or unusable."""
        missing = [key for key in NEEDED if key not in settings]
        if missing:
            raise DataError(f"{where} lacks {', '.join(missing)}: a broken run, or one from an older version")
        wrong = _invalid(settings) or _mistyped(settings)
        if wrong:
            raise DataError(f"{where}: {wrong}: a broken or hand-edited run")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in settings.items() if k in known}
        try:
            faces = FaceCut.of(values["faces"], f"{where}: faces") if values.get("faces") else None
        except HappysadError as exc:
            raise DataError(str(exc)) from None
        return cls(**values | {"faces": faces, "threshold": float(settings["threshold"])})

    @classmethod
    def read(cls, path: Path) -> RunConfig:
        return cls.of(read_json(path, "a run's settings"), path)


def read_json(path: Path, what: str) -> dict:
    """A run file's JSON object; DataError when it cannot be one (json_files.read_object)."""
    return read_object(path, what, MAX_RECORD_BYTES, DataError)


def _invalid(settings: dict) -> str | None:
    """What in the settings predicting needs cannot be used, or None."""
    from trainer.models import ARCHITECTURES

    labels, size, threshold = settings["labels"], settings["image_size"], settings["threshold"]
    if not isinstance(labels, list) or len(labels) < 2 or len(set(map(str, labels))) != len(labels):
        return f"labels must be a list of two or more different labels, not {labels!r}"[:200]
    if not all(is_label(label) for label in labels):
        return f"labels must be folder-safe names, not {labels!r}"[:200]
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_IMAGE_SIZE:
        return f"image_size must be a whole number from 1 to {MAX_IMAGE_SIZE}, not {size!r}"[:200]
    if settings["color_mode"] not in COLOR_MODES:
        return f"color_mode must be one of {', '.join(COLOR_MODES)}, not {settings['color_mode']!r}"[:200]
    number = isinstance(threshold, int | float) and not isinstance(threshold, bool)
    if not number or not math.isfinite(threshold) or not 0 <= threshold <= 1:
        return f"threshold must be a number from 0 to 1, not {threshold!r}"[:200]
    if settings["arch"] not in ARCHITECTURES:
        return f"arch must be one of {', '.join(ARCHITECTURES)}, not {settings['arch']!r}"[:200]
    return None


def _mistyped(settings: dict) -> str | None:
    """The first field whose JSON is not of its annotated kind (null is always allowed)."""
    for key, hint in get_type_hints(RunConfig).items():
        value = settings.get(key)
        if key in NEEDED or value is None:
            continue
        kinds = tuple(dict if k is FaceCut else k for k in get_args(hint) or (hint,) if k is not NoneType)
        if not isinstance(value, kinds + ((int,) if float in kinds else ())):
            return f"{key} is a JSON {type(value).__name__}"
    return None


def data_dir_of(run: Path, config: RunConfig) -> Path | None:
    """The folder a run was trained on. Recorded relative to the run as well, so the runs of a
    copied or moved workspace point into it (its export) rather than into the original's."""
    relative, recorded = config.data_dir_from_run, config.data_dir
    if relative and (run / relative).is_dir():
        return (run / relative).resolve()
    return Path(recorded) if recorded else None


def relative_to_run(data_dir: Path, run: Path) -> str:
    """data_dir_from_run for a run to be written at `run`."""
    return os.path.relpath(data_dir.resolve(), run.resolve())


@dataclass(frozen=True)
class Metrics:
    """metrics.json: the figures (metrics.summarise) of each scored split, by name: "test",
    "validation", "train", and for a face run "prior on test"."""

    figures: dict[str, dict]

    @property
    def test(self) -> dict | None:
        test = self.figures.get("test")
        return test if isinstance(test, dict) else None

    def write(self, folder: Path) -> None:
        (folder / METRICS).write_text(json.dumps(self.figures, indent=2))

    @classmethod
    def read(cls, folder: Path) -> Metrics:
        return cls(read_json(folder / METRICS, "a run's figures"))
