"""What is trained: the architecture, the input shape (asked, the --init run's, or the data's)
and the run it starts from, each with where it came from."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from happysad.faces import crops
from trainer import data, models
from trainer.config import NO_INIT, TrainConfig
from trainer.errors import DataError
from trainer.run import PRIOR_DIR, Run, open_run


@dataclass(frozen=True)
class ModelSpec:
    """What is trained: architecture, input, the run it starts from, and where each choice came from."""

    arch: str
    image_size: int
    color_mode: str
    source: Run | None
    chosen_by: dict[str, str]

    @property
    def channels(self) -> int:
        return data.channels_of(self.color_mode)

    @classmethod
    def of_run(cls, run: Run) -> ModelSpec:
        """The spec a run was trained with, to score images as it does."""
        return cls(run.config["arch"], run.config["image_size"], run.config["color_mode"], run, {})


def face_crops(data_dir: Path) -> dict | None:
    """How the training images were cut, when they are `curate export --faces` crops."""
    how = data_dir / crops.SETTINGS
    return json.loads(how.read_text()) if how.is_file() else None


def _source(cfg: TrainConfig, faces: dict | None) -> Run | None:
    """The run to start from: --init, else the prior for face crops trained at its own shape."""
    if cfg.init is not None:
        return None if str(cfg.init) == NO_INIT else open_run(cfg.init)
    if faces and cfg.image_size is None and cfg.color_mode is None:
        prior = open_run(PRIOR_DIR)
        if cfg.arch in (None, prior.config["arch"]):
            return prior
    return None


def model_spec(cfg: TrainConfig, items: list[data.Item], faces: dict | None) -> ModelSpec:
    """Architecture, image size and colour mode: as asked, else the --init run's, else the data's."""
    source = _source(cfg, faces)
    base = source.config if source else {}
    arch = cfg.arch or base.get("arch") or models.DEFAULT
    if source and (arch, cfg.image_size or base["image_size"], cfg.color_mode or base["color_mode"]) != (
        base["arch"],
        base["image_size"],
        base["color_mode"],
    ):
        raise DataError(
            f"--init {cfg.init} is a {base['arch']} model for {base['image_size']} px {base['color_mode']} "
            "images: leave out --arch, --image-size and --color-mode, or give the same ones"
        )
    measured = None if source or arch == "seed" else data.shape_of([i.path for i in items])

    def pick(asked, key: str, seed_default):
        if asked:
            return asked, "asked"
        if source:
            return base[key], "prior" if source.is_prior else "init"
        if arch == "seed":
            return seed_default, "seed notebook"
        return getattr(measured, key), "data"

    (size, size_by), (colour, colour_by) = (
        pick(cfg.image_size, "image_size", 256),
        pick(cfg.color_mode, "color_mode", "rgb"),
    )
    chosen = {"image_size": size_by, "color_mode": colour_by}
    if measured:
        chosen |= {
            "data_median_side": str(measured.median_side),
            "data_grayscale": str(measured.grayscale_share),
        }
    return ModelSpec(arch, size, colour, source, chosen)


def faces_setting(faces: dict | None, spec: ModelSpec) -> dict | None:
    """How the run's pictures are cut into faces: as its crops were, else as the face model it
    started from (the prior) cut them, crops exported or not; None for whole-frame runs."""
    return faces or (spec.source.config.get("faces") if spec.source else None)
