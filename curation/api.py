"""`curate` as functions: what the command line and `happysad.Workspace` both call.

Each takes the workspace folder, returns the dataclass whose fields `curate ... --json` prints,
and raises the typed errors of `curation.errors` (and `happysad.common.errors`). `progress`:
None shows bars where someone watches (a terminal, a notebook), False never.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from curation import assist, database, decisions, face_scan, grouping
from curation import dedupe as dedupe_lib
from curation import export as export_lib
from curation import review as review_lib
from curation import scan as scan_lib
from curation.catalog import Catalog
from curation.importer import ImportSummary, import_tree
from happysad.common.progress import Bars
from happysad.common.tf_runtime import quiet_tensorflow
from happysad.common.workspace import CURATED, CURATED_FACES, DATASET_KEY, exclusive
from happysad.faces import crops, detectors

T = TypeVar("T")


@dataclass
class ReviewReport(review_lib.SyncReport):
    """The FiftyOne dataset brought up to date, and the model's reading when one was asked for."""

    predictions: assist.AssistReport | None = None


def _with_progress(name: str, progress: bool | None, job: Callable[..., T]) -> T:
    """Run job(on_start=, on_progress=) under one bar (happysad.common.progress)."""
    with Bars(progress) as bars:
        bar = bars.add(name)

        def start(n: int) -> None:
            if n:  # nothing new to do draws no bar
                bar.update(total=n)

        return job(on_start=start, on_progress=bar.advance)


def _scan(catalog: Catalog, min_size: int | None, progress: bool | None) -> scan_lib.ScanReport:
    return _with_progress("scan", progress, lambda **bar: scan_lib.scan_workspace(catalog, min_size, **bar))


def _sync(catalog: Catalog, progress: bool | None) -> tuple[ModuleType, review_lib.SyncReport]:
    """Scan what is new, regroup, and mirror the workspace into the FiftyOne dataset: one
    process at a time per workspace (a second review waits for the first's sync)."""
    with exclusive(catalog.data_dir, "review-sync", wait=True):
        _scan(catalog, None, progress)
        threshold = int(catalog.get_meta("deduped") or grouping.THRESHOLD)
        dedupe_lib.dedupe(catalog, threshold)
        fo = database.fiftyone()
        report = review_lib.sync(fo, catalog)
        assist.discard_unfinished(fo.load_dataset(report.dataset))
    return fo, report


def import_folder(data_dir: Path, source: Path) -> ImportSummary:
    """Copy a folder tree (label = sub-folder name) into the workspace."""
    with Catalog(data_dir) as catalog:
        return import_tree(source, catalog)


def scan(data_dir: Path, min_size: int | None = None, progress: bool | None = None) -> scan_lib.ScanReport:
    """Decode every new image fully; flag corrupt, non-image, small, animated files and bombs."""
    with Catalog(data_dir) as catalog:
        return _scan(catalog, min_size, progress)


def dedupe(
    data_dir: Path,
    threshold: int = grouping.THRESHOLD,
    min_size: int | None = None,
    progress: bool | None = None,
) -> dedupe_lib.DedupeReport:
    """Scan what is new, then group exact and near duplicates and flag cross-label conflicts."""
    with Catalog(data_dir) as catalog:
        _scan(catalog, min_size, progress)
        return dedupe_lib.dedupe(catalog, threshold)


def review(
    data_dir: Path,
    predictions: Path | None = None,
    top: int = assist.TOP,
    faces: bool | None = None,
    progress: bool | None = None,
) -> ReviewReport:
    """Build or update the FiftyOne dataset; with `predictions` (a run, or 'prior'), read every
    image with its model and rank the labels the evidence disputes ('likely mislabelled')."""
    evidence = assist.open_evidence(predictions) if predictions is not None else None
    with Catalog(data_dir) as catalog:
        fo, synced = _sync(catalog, progress)
    assisted = None
    if evidence is not None:
        quiet_tensorflow()
        assisted = assist.attach(fo, synced.dataset, evidence, top, faces)
    return ReviewReport(**dataclasses.asdict(synced), predictions=assisted)


def launch_app(name: str, port: int = 5151, open_browser: bool = True) -> Any:
    """The FiftyOne App on a workspace's dataset; returns its session."""
    return review_lib.launch(database.fiftyone(), name, port, open_browser)


def find_faces(
    data_dir: Path,
    detector: str = detectors.DEFAULT,
    min_detect: int = detectors.MIN_DETECT,
    workers: int = face_scan.WORKERS,
    progress: bool | None = None,
) -> face_scan.FacesReport:
    """Find the faces in every kept image (FiftyOne detections); tag images without one no_face."""
    quiet_tensorflow()
    with Catalog(data_dir) as catalog:
        _scan(catalog, None, progress)
        finder = detectors.get(detector, min_detect)
        report = _with_progress(
            "faces", progress, lambda **bar: face_scan.find_faces(catalog, finder, workers, **bar)
        )
        _, synced = _sync(catalog, False)
    return dataclasses.replace(report, dataset=synced.dataset)


def export(
    data_dir: Path,
    out: Path | None = None,
    faces: bool = False,
    margin: float = crops.MARGIN,
    min_face: int = crops.MIN_FACE,
    allow_empty: bool = False,
) -> export_lib.ExportReport:
    """Write curated class folders and manifest.csv (face crops with `faces`), honouring the
    review's decisions."""
    with Catalog(data_dir) as catalog:
        name = catalog.get_meta(DATASET_KEY)
        reviewed = decisions.read(database.fiftyone(), name, data_dir) if name else {}
        if faces:
            target = out or data_dir / CURATED_FACES
            return export_lib.export_faces(catalog, target, reviewed, margin, min_face, allow_empty)
        return export_lib.export(catalog, out or data_dir / CURATED, reviewed, allow_empty)


def status(data_dir: Path) -> dict[str, Any]:
    """Counts per label and flag, duplicate groups, conflicts, pending review."""
    with Catalog(data_dir) as catalog:
        catalog.sync_collection()
        return catalog.status()
