"""`evaluate` and `predict`: a run's model on new images, preprocessed exactly as in training."""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainer import data, metrics
from trainer.run import Run


@dataclass
class Prediction:
    path: str
    label: str | None
    probability: float | None
    scores: dict[str, float] | None
    error: str | None = None


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
    import tensorflow as tf

    out = model.predict(feed, verbose=0)
    if flip:
        out = (out + model.predict(feed.map(lambda x, y: (tf.image.flip_left_right(x), y)), verbose=0)) / 2
    return out.ravel() if out.shape[-1] == 1 else out


def _scores(run: Run, model, paths: list[str]) -> np.ndarray:
    feed = data.pipeline(paths, [0] * len(paths), run.config["image_size"], run.channels, 64)
    return scores_of(model, feed, run.config.get("flip_tta", False))


def predict(run: Run, targets: list[str]) -> list[Prediction]:
    files = expand(targets)
    items = [data.Item(str(p.resolve()), "", str(p)) for p in files]
    problems = [None if not p.exists() else data._check(i) for p, i in zip(files, items, strict=True)]
    ok = [i for i, p, f in zip(items, problems, files, strict=True) if p is None and f.exists()]
    scores = _scores(run, run.load_model(), [i.path for i in ok]) if ok else np.empty(0)
    by_path = dict(zip((i.path for i in ok), scores, strict=True))
    threshold, labels = run.config["threshold"], run.labels
    out = []
    for path, item, problem in zip(files, items, problems, strict=True):
        if item.path not in by_path:
            out.append(Prediction(str(path), None, None, None, problem or "no such file"))
            continue
        s = by_path[item.path]
        if np.ndim(s) == 0:
            per_label = {labels[0]: float(1 - s), labels[1]: float(s)}
            label = labels[int(s >= threshold)]
        else:
            per_label = {label: float(v) for label, v in zip(labels, s, strict=True)}
            label = labels[int(np.argmax(s))]
        out.append(Prediction(str(path), label, per_label[label], per_label))
    return out


def evaluate(run: Run, data_dir: Path) -> dict[str, object]:
    """The run's metrics on a labelled folder tree (its label folders must be the run's labels)."""
    items, skipped = data.usable(data.list_tree(data_dir))
    unknown = sorted({i.label for i in items} - set(run.labels))
    if unknown:
        raise data.DataError(f"{data_dir} has labels the model does not know: {', '.join(unknown)}")
    if not items:
        raise data.DataError(f"{data_dir} has no readable images")
    index = {label: i for i, label in enumerate(run.labels)}
    truth = np.array([index[i.label] for i in items])
    scores = _scores(run, run.load_model(), [i.path for i in items])
    result = metrics.summarise(truth, scores, run.config["threshold"], run.labels)
    result["skipped"] = dict(skipped)
    return result
