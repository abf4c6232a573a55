"""`train`'s options, each a reusable `Annotated` type (Typer's way to share an option): the
command's signature then reads as a list of settings, and its help lives here."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from happysad.common.cli import choices
from trainer import finetune, models
from trainer.data import COLOR_MODES, MAX_IMAGE_SIZE

Arch = choices("Arch", models.ARCHITECTURES)
ColorMode = choices("ColorMode", COLOR_MODES)
FineTune = choices("FineTune", finetune.RECIPES)

DataDirArg = Annotated[Path | None, typer.Argument(help="<label>/<images> tree (default: <data>/curated).")]

OutDirOpt = Annotated[Path | None, typer.Option("--out", help="Run directory (default: runs/<time>-<arch>).")]

ArchOpt = Annotated[
    Arch | None,
    typer.Option("--arch", help=f"Architecture (default: {models.DEFAULT}, or the --init run's)."),
]

EpochsOpt = Annotated[
    int, typer.Option("--epochs", min=1, help="Most epochs (early stopping may end sooner).")
]

ImageSizeOpt = Annotated[
    int | None,
    typer.Option(
        "--image-size",
        min=16,
        max=MAX_IMAGE_SIZE,
        help="Pixels per side (default: the --init run's; 256 for seed; else the data's median "
        "short side, 32 to 128).",
    ),
]

SeedOpt = Annotated[int, typer.Option("--seed", help="Seeds the split, the weights and the shuffling.")]

BatchSizeOpt = Annotated[int, typer.Option("--batch-size", min=1, help="Images per training step.")]

ColorModeOpt = Annotated[
    ColorMode | None,
    typer.Option("--color-mode", help="Channels (default: from the data, or the --init run's)."),
]

InitOpt = Annotated[
    Path | None,
    typer.Option(
        "--init",
        metavar="RUN_DIR",
        help="Start from this run's weights (fine-tuning; its architecture, size and colour mode "
        "are kept); 'prior' = the shipped expression model (the default for face crops), "
        "'none' = from scratch.",
    ),
]

CrossFitOpt = Annotated[
    int,
    typer.Option(
        "--cross-fit",
        metavar="K",
        help="Also train K models on K group-aware folds of training+validation: out-of-fold "
        "probabilities for every image (out_of_fold.csv), the evidence for label review (0: off).",
    ),
]

CleanLabelsOpt = Annotated[
    bool,
    typer.Option(
        "--clean-labels/--keep-labels",
        help="Leave out of training the images whose labels models that never saw them dispute "
        "(out-of-fold, or the prior's on face crops; cleanlab); listed in split.csv as label_issue.",
    ),
]

FineTuneOpt = Annotated[
    FineTune | None,
    typer.Option(
        "--fine-tune",
        help=f"How a run started from another's weights is fine-tuned (default: {finetune.FROM_PRIOR} "
        f"from the prior, which no recipe beat on photos from another scrape (docs/faces.md); "
        f"{finetune.FROM_RUN} from another run).",
    ),
]

TestDirOpt = Annotated[Path | None, typer.Option("--test-dir", help="An external labelled test set.")]

MixedPrecisionOpt = Annotated[
    bool | None,
    typer.Option(
        "--mixed-precision/--full-precision",
        help="float16 on GPUs, bfloat16 on CPUs (default: bfloat16 on CPUs that compute it natively).",
    ),
]

WholeFrameOpt = Annotated[
    bool,
    typer.Option(
        "--whole-frame",
        help="Train on whole pictures, not their faces (the default for a picture export of people "
        "is its faces, cut beside it into <folder>-faces; whole-frame when faces are rare).",
    ),
]
