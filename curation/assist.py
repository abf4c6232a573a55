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

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from curation import face_map
from curation.decisions import REJECT, UNDECIDED
from curation.errors import CurationError
from curation.face_map import EMBEDDING, FaceMap
from curation.review import FACES, colour_labels
from happysad.common import tables
from happysad.common.images import file_sha256

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
TOP = 10  # suspects listed in the report (`curate review --top`)
FIELDS = (PREDICTION, SPLIT, EVIDENCE, EVIDENCE_SOURCE, PRIOR_PREDICTION, LABEL_ISSUE_FIELD, FACE_PREDICTIONS)
FROM = "predictions_from"  # dataset.info: the run whose predictions the fields hold
WRITING = "predictions_writing"  # dataset.info: a run's predictions being written (set, then cleared)
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
    read_by: str = "whole_frame"  # the reader that gave the predictions: "faces" or "whole_frame"
    face_map: FaceMap | None = None  # face runs: the faces laid out by similarity (curation.face_map)


def _picture_digests(run: Run) -> dict[str, str]:
    """path in the run's data → sha256 of the picture it shows, for the run's split.csv.

    By content, so a raw file matches its hard link or copy in the export the run read; a
    face crop stands for the picture it was cut from (export --faces records its sha256).
    """
    root = run.data_dir or Path(".")
    cut_from = {r.path: r.image_sha256 for r in tables.read_manifest(root) or [] if r.image_sha256}
    trained_in = Path(run.config.data_dir or root)  # split.csv's paths start here, moved or not
    return {
        row.path: digest
        for row in tables.read_splits(run.path / tables.SPLIT_FILE)
        if (digest := cut_from.get(_inside(row.path, trained_in)) or file_sha256(Path(row.path)))
    }


def _inside(path: str, folder: Path) -> str:
    """`path` relative to `folder` as a manifest writes it; "" when it is not inside."""
    try:
        return Path(path).relative_to(folder).as_posix()
    except ValueError:
        return ""


def run_splits(run: Run, pictures: dict[str, str]) -> dict[str, str]:
    """sha256 → the run's split for every picture it was trained or scored on (`pictures`:
    `_picture_digests`)."""
    rows = tables.read_splits(run.path / tables.SPLIT_FILE)
    return {pictures[r.path]: r.split for r in rows if r.path in pictures}


def out_of_fold(run: Run, pictures: dict[str, str]) -> dict[str, np.ndarray]:
    """sha256 → out-of-fold probabilities (in the run's label order), a picture's crops averaged."""
    rows = tables.read_out_of_fold(run.path / tables.OUT_OF_FOLD, run.labels)
    per_picture: dict[str, list[tuple[float, ...]]] = defaultdict(list)
    for row in rows:
        if row.path in pictures:
            per_picture[pictures[row.path]].append(row.probabilities)
    return {digest: np.mean(probs, axis=0) for digest, probs in per_picture.items()}


def label_quality(given: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """cleanlab's label quality per image (0 = surely wrong, 1 = surely right)."""
    from cleanlab.rank import get_label_quality_scores

    return get_label_quality_scores(given, probs)


UNSEARCHED = "not searched"  # a picture `curate faces` has not reached yet


def _found_faces(run: Run, dataset, paths: list[str]) -> list:
    """Each picture's faces: the boxes `curate faces` found (the ones reviewers see), else those
    of the face export the run was cut from (`train` on pictures), else found now with the
    run's detector."""
    from happysad.faces import export as face_export
    from happysad.faces.batch import Found
    from happysad.faces.detectors import Face
    from trainer.face_scoring import settings

    boxes = (
        dataset.values(f"{FACES}.detections.bounding_box") if FACES in dataset.get_field_schema() else None
    )
    if boxes is not None and any(b is not None for b in boxes):
        return [
            Found(Path(p), [Face(*box, None) for box in b or []], error=None if b is not None else UNSEARCHED)
            for p, b in zip(paths, boxes, strict=True)
        ]
    how = settings(run)
    known = face_export.known_faces(run.data_dir, how) if run.data_dir else {}
    digests = [file_sha256(Path(p)) for p in paths]
    return face_export.find([Path(p) for p in paths], digests, known, how.make_detector())


def _probabilities(result, labels: list[str]) -> np.ndarray | None:
    return None if result is None or result.scores is None else np.array([result.scores[x] for x in labels])


def discard_unfinished(dataset) -> bool:
    """Clear what a `review --predictions` killed mid-write left: its fields would hold two
    runs' predictions side by side. Run before every review; True when it cleared something."""
    if not dataset.info.get(WRITING):
        return False
    schema = dataset.get_field_schema()
    for name in FIELDS:
        if name in schema:
            dataset.clear_sample_field(name)
    for view in VIEWS:
        if dataset.has_saved_view(view):
            dataset.delete_saved_view(view)
    dataset.info.pop(WRITING)
    dataset.info.pop(FROM, None)
    dataset.save()
    return True


def weigh(
    own: np.ndarray | None, split: str | None, out_of_fold: np.ndarray | None, prior: np.ndarray | None
) -> tuple[np.ndarray | None, str | None]:
    """One image's evidence about its label and where it comes from: the out-of-fold
    probabilities when there are some, else the run's own reading (`in_sample` for an image it
    trained on, else `held_out`); the prior's reading, when given, is averaged in (`+prior`),
    or stands alone when the run could not read the image. (None, None) without any."""
    evidence, source = (
        (out_of_fold, "out_of_fold")
        if out_of_fold is not None
        else (own, IN_SAMPLE if split == "train" else "held_out")
    )
    if prior is not None:
        return ((evidence + prior) / 2, f"{source}+prior") if evidence is not None else (prior, "prior")
    return (evidence, source) if evidence is not None else (None, None)


def _fields(
    fo: ModuleType,
    evidence: RunEvidence,
    dataset,
    results: list,
    prior_results: list,
    embeddings: list[dict] | None,
):
    """Each field's value per sample id; `label_issue` from cleanlab over every image's evidence."""
    ids, digests, truths = dataset.values(["id", "sha256", "ground_truth.label"])
    run, in_run, oof = evidence.run, evidence.splits, evidence.out_of_fold
    values: dict[str, dict] = {name: {} for name in FIELDS}
    judged: list[tuple[str, int, np.ndarray]] = []
    embeddings = embeddings if embeddings is not None else [None] * len(ids)
    for sample_id, digest, truth, result, other, vectors in zip(
        ids, digests, truths, results, prior_results, embeddings, strict=True
    ):
        ok = result.label is not None
        split = in_run.get(digest, "unseen") if ok else None
        other_probs = (
            _probabilities(other, run.labels) if other is not None and other.label is not None else None
        )
        evidence, source = weigh(_probabilities(result, run.labels), split, oof.get(digest), other_probs)
        values[PRIOR_PREDICTION][sample_id] = (
            fo.Classification(label=other.label, confidence=other.probability)
            if other_probs is not None
            else None
        )
        values[PREDICTION][sample_id] = (
            fo.Classification(label=result.label, confidence=result.probability) if ok else None
        )
        values[SPLIT][sample_id] = split
        values[EVIDENCE_SOURCE][sample_id] = source
        values[EVIDENCE][sample_id] = None
        values[LABEL_ISSUE_FIELD][sample_id] = None
        if evidence is not None:
            best = int(np.argmax(evidence))
            values[EVIDENCE][sample_id] = fo.Classification(
                label=run.labels[best], confidence=float(evidence[best])
            )
            if truth in run.labels:
                judged.append((sample_id, run.labels.index(truth), evidence))
        boxes = [
            fo.Detection(
                label=f.label,
                bounding_box=f.box,
                confidence=f.probability,
                **{EMBEDDING: vectors.get(tuple(f.box))} if vectors else {},
            )
            for f in result.faces or []
        ]
        values[FACE_PREDICTIONS][sample_id] = fo.Detections(detections=boxes) if vectors is not None else None
    if len({given for _, given, _ in judged}) > 1:
        quality = label_quality(np.array([g for _, g, _ in judged]), np.stack([e for _, _, e in judged]))
        values[LABEL_ISSUE_FIELD].update(
            {sid: float(1 - q) for (sid, _, _), q in zip(judged, quality, strict=True)}
        )
    return values


def _write(dataset, run: Run, values: dict[str, dict]) -> None:
    """The fields, marked as being written (a kill midway is undone by the next review)."""
    schema = dataset.get_field_schema()
    dataset.info[WRITING] = str(run.path)
    dataset.save()
    for field_name, per_sample in values.items():
        if field_name not in schema and all(v is None for v in per_sample.values()):
            continue  # FiftyOne cannot type a new field from nothing (no second opinion, a whole-frame run)
        dataset.set_values(field_name, per_sample, key_field="id", progress=False)
    dataset.info[FROM] = str(run.path)
    dataset.save()


def _save_views(dataset, on_faces: bool):
    """The ranked views; returns the main one. Ends the write `_write` began."""
    from fiftyone import ViewField as F

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
    dataset.info.pop(WRITING)  # fields and views are this run's, whole
    dataset.save()
    return ranked


@dataclass
class RunEvidence:
    """What `review --predictions` reads of a run, all before it syncs the dataset or starts
    TensorFlow, so that a mistyped or broken run is refused in a second: the run, the prior
    read beside it, and per picture (sha256) the run's split and out-of-fold probabilities."""

    run: Run
    prior: Run
    splits: dict[str, str]
    out_of_fold: dict[str, np.ndarray]


def open_evidence(run_dir: Path) -> RunEvidence:
    """The run at `run_dir` (or `prior`) and its records, read and checked."""
    from trainer.errors import DataError
    from trainer.run import PRIOR_DIR, open_run

    try:
        run, prior = open_run(run_dir), open_run(PRIOR_DIR)
    except DataError as exc:
        raise CurationError(str(exc)) from None
    pictures = _picture_digests(run)
    return RunEvidence(run, prior, run_splits(run, pictures), out_of_fold(run, pictures))


def attach(
    fo: ModuleType, name: str, evidence: RunEvidence, top: int = TOP, faces: bool | None = None
) -> AssistReport:
    """Predict every sample with the run's model, weigh the evidence, rank labels, save the views.
    `faces`: read the faces (default for face runs) or each image as one face crop (False)."""
    from trainer.face_scoring import classify, classify_and_embed, reads_faces
    from trainer.predict import FACES, WHOLE_FRAME, predict

    run, prior = evidence.run, evidence.prior
    dataset = fo.load_dataset(name)
    paths = dataset.values("filepath")
    on_faces = reads_faces(run, faces, paths)  # not in a workspace of face crops: each is one face

    # a face model's reading gets the prior's beside it: the prior never saw this data
    second = bool(run.config.faces) and not run.is_prior and prior.labels == run.labels
    if on_faces:  # the prior reads and embeds the faces in one pass (its embeddings lay out the App's map)
        found = _found_faces(run, dataset, paths)
        by_prior, embeddings = classify_and_embed(prior, found)
        results = by_prior if run.is_prior else classify(run, found)
    else:
        results, embeddings = predict(run, paths), None
        by_prior = predict(prior, paths) if second else None
    prior_results = by_prior if second else [None] * len(paths)
    values = _fields(fo, evidence, dataset, results, prior_results, embeddings)
    _write(dataset, run, values)
    colour_labels(fo, dataset)  # the models' readings in the labels' own colours
    ranked = _save_views(dataset, on_faces)
    mapped = face_map.build(dataset, FACE_PREDICTIONS) if on_faces else None
    suspects = [
        Suspect(
            s.filepath,
            s.ground_truth.label,
            s[EVIDENCE].label,
            s[EVIDENCE].confidence,
            s[LABEL_ISSUE_FIELD],
            s[SPLIT],
            s[EVIDENCE_SOURCE],
        )
        for s in ranked.limit(top)
    ]
    counts = Counter(v for v in values[SPLIT].values() if v is not None)
    sources = Counter(v for v in values[EVIDENCE_SOURCE].values() if v is not None)
    done = counts.total()
    reader = FACES if on_faces else WHOLE_FRAME
    return AssistReport(
        str(run.path), done, len(paths) - done, dict(counts), dict(sources), suspects, reader, mapped
    )
