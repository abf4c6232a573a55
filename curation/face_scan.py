"""`curate faces`: search every kept image for faces, resumably, and keep what was found.

Boxes go to curation.sqlite (machine facts, like hashes) as they are found, a batch at a
time, so a killed run resumes where it stopped; the FiftyOne dataset shows them as
detections and tags pictures without a face `no_face` (logos, banners, clip art).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice

from curation.catalog import Catalog
from happysad.faces.batch import detect_files
from happysad.faces.detectors import Detector, setting

BATCH = 16  # images per commit: what a killed run can lose
WORKERS = 2  # pictures searched at once: one a core on our 2-core machines


@dataclass
class FacesReport:
    detector: str
    images: int  # kept images (scanned, not flagged)
    searched: int  # in this run
    resumed: int  # already searched by an earlier run with the same settings
    with_faces: int
    no_face: int
    faces: int
    unreadable: int
    dataset: str | None = None  # the FiftyOne dataset the boxes went to

    @property
    def no_face_rate(self) -> float:
        return self.no_face / max(1, self.with_faces + self.no_face)


def kept(catalog: Catalog) -> list[str]:
    return [r["path"] for r in catalog.rows() if r["scanned_at"] is not None and not r["flag"]]


def find_faces(
    catalog: Catalog,
    detector: Detector,
    workers: int = WORKERS,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> FacesReport:
    key = setting(detector)  # another setting searches every image again
    paths = kept(catalog)
    done = catalog.face_scanned(key)
    todo = [p for p in paths if p not in done]
    if on_start:
        on_start(len(todo))
    results = detect_files(detector, (catalog.data_dir / p for p in todo), workers)
    pending = iter(todo)
    while batch := list(zip(islice(pending, BATCH), islice(results, BATCH), strict=True)):
        catalog.save_faces(key, batch)
        if on_progress:
            on_progress(len(batch))
    found = catalog.faces()
    counts = [len(found[p]) for p in paths if p in found]
    unreadable = len(paths) - len(counts)
    return FacesReport(
        key,
        len(paths),
        len(todo),
        len(paths) - len(todo),
        sum(1 for n in counts if n),
        sum(1 for n in counts if not n),
        sum(counts),
        unreadable,
    )
