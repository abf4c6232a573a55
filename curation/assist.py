"""Model-assisted review: a trained run's predictions in the FiftyOne dataset, and the images
whose labels it disputes most, ranked by FiftyOne Brain's mistakenness.

A prediction for an image the model was trained on is weak evidence (the model has seen
that label), so every prediction records which split of the run the image was in; the
"held out" view keeps only images the model never fitted.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from curation.decisions import REJECT, UNDECIDED
from curation.errors import CurationError
from curation.export import MANIFEST
from curation.review import FACES

if TYPE_CHECKING:
    from trainer.run import Run

PREDICTION = "prediction"
SPLIT = "prediction_split"  # train | validation | test | unseen
MISTAKENNESS = "mistakenness"
FACE_PREDICTIONS = "face_predictions"  # runs trained on face crops: one prediction per detected face
VIEWS = {
    "likely mislabelled": "images whose label the model disputes, most confident first "
    "(conflicts and flagged files wait in 'to review')",
    "likely mislabelled (held out)": "the same, only images the model did not train on",
    "likely mislabelled faces": "face crops whose expression the model reads against the picture's label",
}


@dataclass
class Suspect:
    filepath: str
    label: str
    predicted: str
    confidence: float
    mistakenness: float
    split: str


@dataclass
class AssistReport:
    run: str
    predicted: int
    unreadable: int
    splits: dict[str, int]
    suspects: list[Suspect] = field(default_factory=list)


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def run_splits(run: Run) -> dict[str, str]:
    """sha256 → the run's split for every picture it was trained or scored on.

    By content, so a raw file matches its hard link or copy in the export the run read; a
    face crop stands for the picture it was cut from (export --faces records its sha256).
    """
    root = Path(run.config.get("data_dir") or ".")
    cut_from = {str((root / r["path"]).resolve()): r.get("image_sha256") for r in _rows(root / MANIFEST)}
    out = {}
    for row in _rows(run.path / "split.csv"):
        digest = cut_from.get(row["path"]) or _sha256(Path(row["path"]))
        if digest:
            out[digest] = row["split"]
    return out


def _on_faces(run: Run, dataset, paths: list[str]) -> list:
    """Per-face predictions on the faces `curate faces` found (the boxes reviewers see)."""
    from faces.batch import Found
    from faces.detectors import Face
    from trainer.faces import classify

    boxes = (
        dataset.values(f"{FACES}.detections.bounding_box") if FACES in dataset.get_field_schema() else None
    )
    if boxes is None or all(b is None for b in boxes):
        raise CurationError(f"{run.path} was trained on face crops: run `curate faces` first")
    found = [
        Found(Path(p), [Face(*box, None) for box in b or []], error=None if b is not None else "not searched")
        for p, b in zip(paths, boxes, strict=True)
    ]
    return classify(run, found)


def attach(fo: ModuleType, name: str, run_dir: Path, top: int = 10) -> AssistReport:
    """Predict every sample with the run's model, store it, score mistakenness, save the views."""
    import fiftyone.brain as fob
    from fiftyone import ViewField as F

    from trainer.data import DataError
    from trainer.predict import predict
    from trainer.run import open_run

    try:
        run = open_run(run_dir)
    except DataError as exc:
        raise CurationError(str(exc)) from None
    dataset = fo.load_dataset(name)
    ids, paths, digests = dataset.values(["id", "filepath", "sha256"])
    on_faces = bool(run.config.get("faces"))
    results = _on_faces(run, dataset, paths) if on_faces else predict(run, paths)
    in_run = run_splits(run)
    predictions, where, per_face = {}, {}, {}
    for sample_id, digest, result in zip(ids, digests, results, strict=True):
        ok = result.label is not None
        predictions[sample_id] = (
            fo.Classification(label=result.label, confidence=result.probability) if ok else None
        )
        where[sample_id] = in_run.get(digest, "unseen") if ok else None
        boxes = [fo.Detection(label=f.label, bounding_box=f.box, confidence=f.probability)
                 for f in result.faces or []]  # fmt: skip
        per_face[sample_id] = fo.Detections(detections=boxes) if on_faces else None
    dataset.set_values(PREDICTION, predictions, key_field="id", progress=False)
    dataset.set_values(SPLIT, where, key_field="id", progress=False)
    if on_faces or FACE_PREDICTIONS in dataset.get_field_schema():
        dataset.set_values(FACE_PREDICTIONS, per_face, key_field="id", progress=False)
    if MISTAKENNESS in dataset.list_brain_runs():
        dataset.delete_brain_run(MISTAKENNESS)
    if MISTAKENNESS in dataset.get_field_schema():
        dataset.set_values(MISTAKENNESS, dict.fromkeys(ids), key_field="id", progress=False)
    scored = dataset.exists(PREDICTION).exists("ground_truth")
    if len(scored):
        fob.compute_mistakenness(scored, PREDICTION, label_field="ground_truth", progress=False)
    dataset.info["predictions_from"] = str(run.path)
    dataset.save()

    ranked = (
        dataset.exists(MISTAKENNESS)
        # rejected files, and conflicted or flagged ones (which "to review" asks about), are
        # not exported as they stand: their labels are not what this view is for
        .match_tags([REJECT, *UNDECIDED], bool=False)
        .match(F(f"{PREDICTION}.label") != F("ground_truth.label"))
        .sort_by(MISTAKENNESS, reverse=True)
    )
    views = {"likely mislabelled": ranked, "likely mislabelled (held out)": ranked.match(F(SPLIT) != "train")}
    if on_faces:
        faces = dataset.filter_labels(FACE_PREDICTIONS, F("label") != F("$ground_truth.label"))
        views["likely mislabelled faces"] = faces.to_patches(
            FACE_PREDICTIONS, other_fields=["ground_truth"]
        ).sort_by(f"{FACE_PREDICTIONS}.confidence", reverse=True)
    for view_name, view in views.items():
        dataset.save_view(view_name, view, description=VIEWS[view_name], overwrite=True)
    suspects = [
        Suspect(s.filepath, s.ground_truth.label, s[PREDICTION].label, s[PREDICTION].confidence,
                s[MISTAKENNESS], s[SPLIT])
        for s in ranked.limit(top)
    ]  # fmt: skip
    counts = Counter(v for v in where.values() if v is not None)
    return AssistReport(str(run.path), counts.total(), len(ids) - counts.total(), dict(counts), suspects)
