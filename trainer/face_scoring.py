"""`predict --faces` / `evaluate --faces`: find the faces, classify each, one label per picture.

The picture's label comes from the area-weighted mean of its faces' class probabilities,
thresholded like a single image: a face twice the size counts twice, since it is usually
the subject and its expression is the clearest. A picture with no face big enough gets no
label ("no face found") rather than a guess. Faces are cut as the run's training crops
were (detector, margin, minimum size from its faces.json), else with the defaults.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from happysad.common.images import ImageRejected
from happysad.faces import crops
from happysad.faces.batch import Found, detect_files
from happysad.faces.detectors import Face, get, setting
from happysad.faces.images import open_upright
from trainer import data, metrics
from trainer.errors import DataError
from trainer.predict import (
    FACES,
    FaceResult,
    Prediction,
    decide,
    expand,
    labelled,
    scores_and_features,
    scores_of,
    truth_of,
)
from trainer.run import Run

DEFAULTS = crops.FaceCut(setting(get()))  # the default detector, margin and smallest face
NO_FACE_NOTE = "no face found"


def reads_faces(run: Run, asked: bool | None, paths: list[str]) -> bool:
    """--faces / --no-faces as asked. By default a run trained on face crops (and the prior) finds
    the faces, since a face model shown a whole photo answers confidently and means nothing;
    unless the pictures are face crops already (FER2013-like: small, crops.looks_like_crops)."""
    if asked is not None:
        return asked
    if not run.config.faces:
        return False
    try:
        return not (paths and crops.looks_like_crops(data.shape_of(paths).median_side))
    except DataError:  # nothing readable to judge by: each file gets its own note
        return True


def settings(run: Run) -> crops.FaceCut:
    return run.config.faces or DEFAULTS


def crop_tensor(run: Run, picture):
    """A face crop (a PIL image) as the model's input, preprocessed as the training crops were."""
    import tensorflow as tf

    tensor = tf.convert_to_tensor(np.asarray(picture.convert("RGB")))
    if run.channels == 1:
        tensor = tf.image.rgb_to_grayscale(tensor)
    return data.prepare(tensor, run.config.image_size)


def aggregate(run: Run, prediction: Prediction, scored: list[tuple[Face, np.ndarray]]) -> None:
    """Fill in a picture's faces (biggest first) and its label: the faces' area-weighted mean."""
    scored = sorted(scored, key=lambda fs: -fs[0].area)
    prediction.faces = prediction.faces or []
    for face, s in scored:
        label, per_label = decide(run, s)
        prediction.faces.append(FaceResult([face.x, face.y, face.w, face.h], label, per_label[label]))
    label, per_label = decide(
        run, _area_weighted(np.array([s for _, s in scored]), [f.area for f, _ in scored])
    )
    prediction.label, prediction.probability, prediction.scores = label, per_label[label], per_label


def _area_weighted(scores: np.ndarray, areas: list[float]) -> np.ndarray:
    return np.average(scores, axis=0, weights=np.asarray(areas))


def predict_faces(run: Run, targets: list[str], workers: int = 2) -> list[Prediction]:
    """Detect with the run's detector setting, then `classify`."""
    detector = settings(run).make_detector()
    return classify(run, list(detect_files(detector, expand(targets), workers)))


def _cut(run: Run, found: list[Found], out: list[Prediction] | None = None) -> list[tuple[int, Face, object]]:
    """Every picture's face crops as (picture index, face, crop); with `out`, each picture
    without a readable face gets its note there."""
    how = settings(run)
    cut: list[tuple[int, Face, object]] = []
    for n, f in enumerate(found):
        if f.error or not f.faces:
            if out is not None:
                out[n].error = f.error or NO_FACE_NOTE
            continue
        try:
            picture = open_upright(f.path)
        except (ImageRejected, OSError) as exc:  # changed since detection
            if out is not None:
                out[n].error = getattr(exc, "reason", None) or "unreadable"
            continue
        big = [(n, face, piece) for face, piece in crops.cuts(picture, f.faces, how) if piece is not None]
        if not big and out is not None:
            out[n].error = f"{NO_FACE_NOTE} (faces smaller than {how.min_face} px)"
        cut += big
    return cut


Embeddings = dict[tuple[float, float, float, float], list[float]]  # a picture's faces, by box


def classify(run: Run, found: list[Found]) -> list[Prediction]:
    """Per-face and per-picture predictions for pictures whose faces are already known."""
    return _classified(run, found, embed=False)[0]


def classify_and_embed(run: Run, found: list[Found]) -> tuple[list[Prediction], list[Embeddings]]:
    """`classify`, and from the same pass each face's embedding (`predict.scores_and_features`):
    the App lays the faces out by it (curation.face_map).

    >>> from trainer.run import PRIOR_DIR, open_run
    >>> classify_and_embed(open_run(PRIOR_DIR), [])
    ([], [])
    """
    return _classified(run, found, embed=True)


def _classified(run: Run, found: list[Found], embed: bool) -> tuple[list[Prediction], list[Embeddings]]:
    """The faces cut once and read in one pass; embeddings only when asked (else left empty)."""
    import tensorflow as tf

    out = [Prediction(str(f.path), None, None, None, f.error, [], read_by=FACES) for f in found]
    vectors: list[Embeddings] = [{} for _ in found]
    cut = _cut(run, found, out)
    if not cut:
        return out, vectors
    tensors = tf.stack([crop_tensor(run, piece) for _, _, piece in cut])
    feed = tf.data.Dataset.from_tensor_slices((tensors, tf.zeros(len(cut)))).batch(64)
    model, flip = run.load_model(), run.config.flip_tta
    features = None
    if embed:
        scores, features = scores_and_features(model, feed, flip)
    else:
        scores = scores_of(model, feed, flip)
    for n in sorted({n for n, _, _ in cut}):
        aggregate(run, out[n], [(face, s) for (m, face, _), s in zip(cut, scores, strict=True) if m == n])
    if features is not None:
        for (n, face, _), vector in zip(cut, features, strict=True):
            vectors[n][(face.x, face.y, face.w, face.h)] = [round(float(v), 5) for v in vector]
    return out, vectors


def image_score(prediction: Prediction, run: Run) -> np.ndarray:
    """The picture's aggregated output back as the model's own form (sigmoid scalar or softmax)."""
    assert prediction.scores is not None
    if len(run.labels) == 2:
        return np.asarray(prediction.scores[run.labels[1]])
    return np.array([prediction.scores[label] for label in run.labels])


def evaluate_faces(run: Run, data_dir: Path, workers: int = 2) -> dict[str, object]:
    """Metrics over the pictures with a face, and `coverage`: the share of pictures that have one."""
    items, skipped = labelled(run, data_dir)
    detector = settings(run).make_detector()
    found = list(detect_files(detector, [Path(i.path) for i in items], workers))
    result = evaluate_found(run, items, found)
    if result["coverage"] == 0:
        raise DataError(f"no face found in any of the {len(items)} images of {data_dir}")
    result["skipped"] = skipped
    return result


def evaluate_found(run: Run, items: list[data.Item], found: list[Found]) -> dict[str, object]:
    """`evaluate --faces` on pictures whose faces are already known (found[n] belongs to items[n])."""
    results = classify(run, found)
    scored = [(i, r) for i, r in zip(items, results, strict=True) if r.label is not None]
    abstained = Counter(i.label for i, r in zip(items, results, strict=True) if r.label is None)
    result: dict[str, object] = {
        "read_by": FACES,
        "images": len(items),
        "coverage": len(scored) / len(items) if items else 0.0,  # the scored share
        "no_face": abstained.total(),
        "abstained": abstained.total() / len(items) if items else 0.0,
        "abstained_filed_as": dict(sorted(abstained.items())),  # what the unscored were labelled
    }
    if scored:
        truth = truth_of(run, [i for i, _ in scored])
        scores = np.array([image_score(r, run) for _, r in scored])
        result = metrics.summarise(truth, scores, run.config.threshold, run.labels) | result
    return result
