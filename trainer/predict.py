"""`evaluate` and `predict`: a run's model on new images, preprocessed exactly as in training."""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainer import data, metrics
from trainer.errors import DataError
from trainer.run import Run


@dataclass
class FaceResult:
    box: list[float]  # x, y, width, height relative to the picture
    label: str
    probability: float


FACES, WHOLE_FRAME = "faces", "whole_frame"  # the two readers a prediction names (`read_by`)


@dataclass
class Prediction:
    """One picture's answer. `read_by` says which reader gave it: FACES (each face found is
    classified, the picture labelled by their area-weighted mean) or WHOLE_FRAME."""

    path: str
    label: str | None
    probability: float | None
    scores: dict[str, float] | None
    error: str | None = None
    faces: list[FaceResult] | None = None  # with --faces: one result per face, biggest first
    read_by: str = WHOLE_FRAME


def expand(targets: list[str]) -> list[Path]:
    """Files, folders (recursively) and glob patterns, in a stable order, without repeats."""
    found: dict[Path, None] = {}
    for target in targets:
        matches = [Path(p) for p in sorted(glob.glob(target, recursive=True))] or [Path(target)]
        for match in matches:
            if match.is_dir():
                found.update(
                    dict.fromkeys(sorted(p for p in match.rglob("*") if p.suffix.lower() in data.SUFFIXES))
                )
            else:
                found[match] = None
    return list(found)


def scores_of(model, feed, flip: bool) -> np.ndarray:
    """Model outputs for a batched feed: sigmoid (n,) or softmax (n, k); with `flip`, the mean
    over each image and its mirror image (for models trained with horizontal flips)."""
    return _mirror_averaged(model, feed, model.predict(feed, verbose=0), flip)


def scores_and_features(model, feed, flip: bool) -> tuple[np.ndarray, np.ndarray]:
    """`scores_of`, and from the same pass what the last hidden layer makes of each image (not
    mirrored): the features the classifier reads, so images the model finds alike lie close."""
    import keras

    both = keras.Model(model.inputs, [model.layers[-2].output, model.output])
    features, out = both.predict(feed, verbose=0)
    return _mirror_averaged(model, feed, out, flip), features


def _mirror_averaged(model, feed, out: np.ndarray, flip: bool) -> np.ndarray:
    import tensorflow as tf

    if flip:
        out = (out + model.predict(feed.map(lambda x, y: (tf.image.flip_left_right(x), y)), verbose=0)) / 2
    return out.ravel() if out.shape[-1] == 1 else out


def _scores(run: Run, model, items: list[data.Item]) -> np.ndarray:
    paths, turns = [i.path for i in items], [i.orientation for i in items]
    feed = data.pipeline(paths, [0] * len(paths), run.config.image_size, run.channels, 64, orientations=turns)
    return scores_of(model, feed, run.config.flip_tta)


def predict(run: Run, targets: list[str]) -> list[Prediction]:
    files = expand(targets)
    items = [data.Item(str(p.resolve()), "", str(p)) for p in files]
    checked = [data.check(i) if p.exists() else "no such file" for p, i in zip(files, items, strict=True)]
    ok = [c for c in checked if isinstance(c, data.Item)]
    scores = _scores(run, run.load_model(), ok) if ok else np.empty(0)
    by_path = dict(zip((i.path for i in ok), scores, strict=True))
    out = []
    for path, item, problem in zip(files, items, checked, strict=True):
        if item.path not in by_path:
            out.append(Prediction(str(path), None, None, None, str(problem)))
            continue
        label, per_label = decide(run, by_path[item.path])
        out.append(Prediction(str(path), label, per_label[label], per_label))
    return out


def decide(run: Run, score: np.ndarray) -> tuple[str, dict[str, float]]:
    """A model output (sigmoid scalar or softmax vector) → the run's label and every label's probability."""
    scores = np.asarray(score)[None]
    (predicted,), _ = metrics.read(scores, run.config.threshold)
    per_label = metrics.probabilities(scores)[0]
    return run.labels[predicted], {label: float(p) for label, p in zip(run.labels, per_label, strict=True)}


def labelled(run: Run, data_dir: Path) -> tuple[list[data.Item], dict[str, int]]:
    """A labelled folder tree's readable images (its label folders must be the run's labels)."""
    items, skipped = data.usable(data.list_tree(data_dir))
    unknown = sorted({i.label for i in items} - set(run.labels))
    if unknown:
        raise DataError(f"{data_dir} has labels the model does not know: {', '.join(unknown)}")
    if not items:
        raise DataError(f"{data_dir} has no readable images")
    return items, dict(skipped)


def truth_of(run: Run, items: list[data.Item]) -> np.ndarray:
    index = data.class_index(run.labels)
    return np.array([index[i.label] for i in items])


def evaluate(run: Run, data_dir: Path) -> dict[str, object]:
    """The run's metrics on a labelled folder tree."""
    items, skipped = labelled(run, data_dir)
    scores = _scores(run, run.load_model(), items)
    result = metrics.summarise(truth_of(run, items), scores, run.config.threshold, run.labels)
    return result | {"read_by": WHOLE_FRAME, "skipped": skipped}
