"""Model-assisted review: a trained run's predictions in the FiftyOne dataset, and the images
whose labels the evidence disputes most, ranked by cleanlab's label quality.

A prediction for an image the model was trained on is weak evidence (the model has seen
that label and may have memorised it), so each image is judged by the strongest evidence
that did not see its label: the run's out-of-fold probabilities (`train --cross-fit K`)
where it has them, else the run's own prediction (held out for its validation and test
images, in sample for its training images). For runs on face crops the shipped prior, which
never saw this data, is a second, independent opinion: the two are averaged. The evidence's
source is recorded per image, and the "held out" view keeps only images no model fitted.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from common.workspace import EXPORT_MANIFEST
from curation.decisions import REJECT, UNDECIDED
from curation.errors import CurationError
from curation.review import FACES

if TYPE_CHECKING:
    from trainer.run import Run

PREDICTION = "prediction"
SPLIT = "prediction_split"  # train | validation | test | label_issue | unseen
EVIDENCE = "label_evidence"  # what the evidence reads: its label and that label's probability
EVIDENCE_SOURCE = "evidence_source"  # out_of_fold | held_out | in_sample, "+prior" when averaged with it
PRIOR_PREDICTION = "prior_prediction"  # face runs: the shipped prior's reading of the same faces
LABEL_ISSUE_FIELD = "label_issue"  # cleanlab: 1 - label quality (self-confidence); higher = likelier wrong
FACE_PREDICTIONS = "face_predictions"  # runs trained on face crops: one prediction per detected face
IN_SAMPLE = "in_sample"
VIEWS = {
    "likely mislabelled": "images whose label the evidence disputes, likeliest first "
    "(conflicts and flagged files wait in 'to review')",
    "likely mislabelled (held out)": "the same, only images judged by models that never saw their label",
    "likely mislabelled faces": "face crops whose expression the model reads against the picture's label",
}


@dataclass
class Suspect:
    filepath: str
    label: str
    predicted: str
    confidence: float
    label_issue: float
    split: str
    evidence: str


@dataclass
class AssistReport:
    run: str
    predicted: int
    unreadable: int
    splits: dict[str, int]
    evidence: dict[str, int] = field(default_factory=dict)
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


def _picture_digests(run: Run) -> dict[str, str]:
    """path in the run's data → sha256 of the picture it shows, for the run's split.csv.

    By content, so a raw file matches its hard link or copy in the export the run read; a
    face crop stands for the picture it was cut from (export --faces records its sha256).
    """
    root = run.data_dir or Path(".")
    rows = _rows(root / EXPORT_MANIFEST)
    cut_from = {str((root / r["path"]).resolve()): r.get("image_sha256") for r in rows}
    return {
        row["path"]: digest
        for row in _rows(run.path / "split.csv")
        if (digest := cut_from.get(row["path"]) or _sha256(Path(row["path"])))
    }


def run_splits(run: Run) -> dict[str, str]:
    """sha256 → the run's split for every picture it was trained or scored on."""
    pictures = _picture_digests(run)
    return {pictures[r["path"]]: r["split"] for r in _rows(run.path / "split.csv") if r["path"] in pictures}


def out_of_fold(run: Run) -> dict[str, np.ndarray]:
    """sha256 → out-of-fold probabilities (in the run's label order), a picture's crops averaged."""
    from trainer.run import OUT_OF_FOLD

    rows = _rows(run.path / OUT_OF_FOLD)
    if not rows:
        return {}
    pictures = _picture_digests(run)
    per_picture: dict[str, list[list[float]]] = defaultdict(list)
    for row in rows:
        if row["path"] in pictures:
            per_picture[pictures[row["path"]]].append([float(row[f"p_{label}"]) for label in run.labels])
    return {digest: np.mean(probs, axis=0) for digest, probs in per_picture.items()}


def label_quality(given: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """cleanlab's label quality per image (0 = surely wrong, 1 = surely right)."""
    from cleanlab.rank import get_label_quality_scores

    return get_label_quality_scores(given, probs)


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


def _probabilities(result, labels: list[str]) -> np.ndarray | None:
    return None if result.scores is None else np.array([result.scores[label] for label in labels])


def attach(
    fo: ModuleType, name: str, run_dir: Path, top: int = 10, faces: bool | None = None
) -> AssistReport:
    """Predict every sample with the run's model, weigh the evidence, rank labels, save the views.
    `faces`: read the faces (default for face runs) or each image as one face crop (False)."""
    from fiftyone import ViewField as F

    from trainer.data import DataError
    from trainer.faces import reads_faces
    from trainer.predict import predict
    from trainer.run import PRIOR_DIR, open_run

    try:
        run = open_run(run_dir)
        prior = open_run(PRIOR_DIR)
    except DataError as exc:
        raise CurationError(str(exc)) from None
    dataset = fo.load_dataset(name)
    ids, paths, digests, truths = dataset.values(["id", "filepath", "sha256", "ground_truth.label"])
    on_faces = reads_faces(run, faces, paths)  # not in a workspace of face crops: each is one face

    def read(model: Run) -> list:
        return _on_faces(model, dataset, paths) if on_faces else predict(model, paths)

    results = read(run)
    # a face model's reading gets the prior's beside it: the prior never saw this data
    second = bool(run.config.get("faces")) and not run.is_prior and prior.labels == run.labels
    prior_results = read(prior) if second else [None] * len(ids)
    in_run, oof = run_splits(run), out_of_fold(run)
    values: dict[str, dict] = defaultdict(dict)
    judged: list[tuple[str, int, np.ndarray]] = []  # (sample id, given label, evidence)
    for sample_id, digest, truth, result, other in zip(
        ids, digests, truths, results, prior_results, strict=True
    ):
        ok = result.label is not None
        split = in_run.get(digest, "unseen") if ok else None
        evidence, source = (oof[digest], "out_of_fold") if digest in oof else (
            _probabilities(result, run.labels), IN_SAMPLE if split == "train" else "held_out")  # fmt: skip
        if other is not None and other.label is not None:
            other_probs = _probabilities(other, run.labels)
            evidence, source = (
                ((evidence + other_probs) / 2, f"{source}+prior")
                if evidence is not None
                else (other_probs, "prior")
            )
            values[PRIOR_PREDICTION][sample_id] = fo.Classification(
                label=other.label, confidence=other.probability
            )
        else:
            values[PRIOR_PREDICTION][sample_id] = None
        values[PREDICTION][sample_id] = (
            fo.Classification(label=result.label, confidence=result.probability) if ok else None
        )
        values[SPLIT][sample_id] = split
        values[EVIDENCE_SOURCE][sample_id] = source if evidence is not None else None
        values[EVIDENCE][sample_id] = None
        values[LABEL_ISSUE_FIELD][sample_id] = None
        if evidence is not None:
            best = int(np.argmax(evidence))
            values[EVIDENCE][sample_id] = fo.Classification(
                label=run.labels[best], confidence=float(evidence[best])
            )
            if truth in run.labels:
                judged.append((sample_id, run.labels.index(truth), evidence))
        boxes = [fo.Detection(label=f.label, bounding_box=f.box, confidence=f.probability)
                 for f in result.faces or []]  # fmt: skip
        values[FACE_PREDICTIONS][sample_id] = fo.Detections(detections=boxes) if on_faces else None
    if len({given for _, given, _ in judged}) > 1:
        quality = label_quality(np.array([g for _, g, _ in judged]), np.stack([e for _, _, e in judged]))
        values[LABEL_ISSUE_FIELD].update(
            {sid: float(1 - q) for (sid, _, _), q in zip(judged, quality, strict=True)}
        )
    schema = dataset.get_field_schema()
    for field_name, per_sample in values.items():
        if field_name not in schema and all(v is None for v in per_sample.values()):
            continue  # FiftyOne cannot type a new field from nothing (no second opinion, a whole-frame run)
        dataset.set_values(field_name, per_sample, key_field="id", progress=False)
    dataset.info["predictions_from"] = str(run.path)
    dataset.save()

    ranked = (
        dataset.exists(LABEL_ISSUE_FIELD)
        # rejected files, and conflicted or flagged ones (which "to review" asks about), are
        # not exported as they stand: their labels are not what this view is for
        .match_tags([REJECT, *UNDECIDED], bool=False)
        .match(F(f"{EVIDENCE}.label") != F("ground_truth.label"))
        .sort_by(LABEL_ISSUE_FIELD, reverse=True)
    )
    views = {
        "likely mislabelled": ranked,
        "likely mislabelled (held out)": ranked.match(F(EVIDENCE_SOURCE) != IN_SAMPLE),
    }
    if on_faces:
        faces = dataset.filter_labels(FACE_PREDICTIONS, F("label") != F("$ground_truth.label"))
        views["likely mislabelled faces"] = faces.to_patches(
            FACE_PREDICTIONS, other_fields=["ground_truth"]
        ).sort_by(f"{FACE_PREDICTIONS}.confidence", reverse=True)
    for view_name, view in views.items():
        dataset.save_view(view_name, view, description=VIEWS[view_name], overwrite=True)
    suspects = [
        Suspect(s.filepath, s.ground_truth.label, s[EVIDENCE].label, s[EVIDENCE].confidence,
                s[LABEL_ISSUE_FIELD], s[SPLIT], s[EVIDENCE_SOURCE])
        for s in ranked.limit(top)
    ]  # fmt: skip
    counts = Counter(v for v in values[SPLIT].values() if v is not None)
    sources = Counter(v for v in values[EVIDENCE_SOURCE].values() if v is not None)
    return AssistReport(str(run.path), counts.total(), len(ids) - counts.total(), dict(counts), dict(sources),
                        suspects)  # fmt: skip
