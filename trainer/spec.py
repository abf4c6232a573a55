"""What is trained: the architecture, the input shape (asked, the --init run's, or the data's)
and the run it starts from, each with where it came from."""

from __future__ import annotations

from dataclasses import dataclass

from happysad.faces.crops import FaceCut
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
        return cls(run.config.arch, run.config.image_size, run.config.color_mode, run, {})


def _source(cfg: TrainConfig, faces: FaceCut | None) -> Run | None:
    """The run to start from: --init, else the prior for face crops trained at its own shape."""
    if cfg.init is not None:
        return None if str(cfg.init) == NO_INIT else open_run(cfg.init)
    if faces and cfg.image_size is None and cfg.color_mode is None:
        prior = open_run(PRIOR_DIR)
        if cfg.arch in (None, prior.config.arch):
            return prior
    return None


def model_spec(cfg: TrainConfig, items: list[data.Item], faces: FaceCut | None) -> ModelSpec:
    """Architecture, image size and colour mode: as asked, else the --init run's, else the data's."""
    source = _source(cfg, faces)
    arch = cfg.arch or (source.config.arch if source else models.DEFAULT)
    if source:
        base = source.config
        asked = (arch, cfg.image_size or base.image_size, cfg.color_mode or base.color_mode)
        if asked != (base.arch, base.image_size, base.color_mode):
            raise DataError(
                f"--init {cfg.init} is a {base.arch} model for {base.image_size} px {base.color_mode} "
                "images: leave out --arch, --image-size and --color-mode, or give the same ones"
            )
    measured = None if source or arch == "seed" else data.shape_of([i.path for i in items])

    def pick(asked, key: str, seed_default):
        if asked:
            return asked, "asked"
        if source:
            return getattr(source.config, key), "prior" if source.is_prior else "init"
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


def faces_setting(faces: FaceCut | None, spec: ModelSpec) -> FaceCut | None:
    """How the run's pictures are cut into faces: as its crops were, else as the face model it
    started from (the prior) cut them, crops exported or not; None for whole-frame runs."""
    return faces or (spec.source.config.faces if spec.source else None)
