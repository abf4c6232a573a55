"""What `train` is asked: every setting with its default, written once (the command line's
options default to these)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from happysad.common.errors import UsageError

NO_INIT = "none"  # --init none: from scratch, even on face crops


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
