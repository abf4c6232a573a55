"""What `train` is asked: every setting with its default, written once (the command line's
options default to these)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from happysad.common.errors import UsageError

NO_INIT = "none"
PATHS = (
    "data_dir",
    "out",
    "test_dir",
    "init",
)  # given as text from code, kept as Path  # --init none: from scratch, even on face crops


@dataclass
class TrainConfig:
    data_dir: Path
    out: Path | None = None
    arch: str | None = None  # default: the --init run's, else models.DEFAULT
    epochs: int = 30
    image_size: int | None = None  # default: the --init run's, else 256 for the seed CNN, else the data's
    seed: int = 1337
    batch_size: int = 32
    color_mode: str | None = None  # default: the --init run's, else the data's
    test_dir: Path | None = None
    patience: int = 6
    learning_rate: float | None = (
        None  # default: 1e-3 for the seed (Adam's), FINE_TUNE_RATE from a run, else SCRATCH_RATE
    )
    mixed_precision: bool | None = None  # None: bfloat16 on CPUs that compute it, float32 elsewhere
    label_smoothing: float = 0.1  # binary models other than the seed
    init: Path | None = None  # start from this run's weights; None: the prior on face crops; "none": scratch
    cross_fit: int = 0  # K >= 2: out-of-fold probabilities for every training and validation image
    clean_labels: bool = False  # leave out what evidence that never saw the labels disputes
    fine_tune: str | None = None  # how a run started from another's weights is fine-tuned (finetune.default)
    whole_frame: bool = False  # a picture export of people is read by its faces unless this is set

    def __post_init__(self) -> None:
        """Checked here, so `train()` called from code is held to what the command line is."""
        if self.cross_fit == 1 or self.cross_fit < 0:
            raise UsageError("--cross-fit takes 0 (off) or at least 2 folds")

    @classmethod
    def of(cls, data_dir: str | Path, out: str | Path | None = None, **options: Any) -> TrainConfig:
        """From code (`happysad.train`): an unknown option is a UsageError naming it, not a
        TypeError, and folders may be given as text.

        >>> TrainConfig.of("curated", epochs=5).epochs
        5
        >>> TrainConfig.of("curated", epoch=5)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        happysad.common.errors.UsageError: train has no option 'epoch' (it takes: out, arch, epochs, ...)
        """
        names = [f.name for f in fields(cls) if f.name != "data_dir"]
        unknown = sorted(set(options) - set(names))
        if unknown:
            raise UsageError(f"train has no option {unknown[0]!r} (it takes: {', '.join(names)})")
        given = {"data_dir": data_dir, "out": out, **options}
        return cls(**{k: Path(v) if k in PATHS and v is not None else v for k, v in given.items()})
