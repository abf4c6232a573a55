"""Detect faces in many files at once: threads overlap decoding with the detector's work."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from happysad.common.images import ImageRejected
from happysad.faces.detectors.base import Detector, Face
from happysad.faces.images import for_detection, open_upright


@dataclass(frozen=True)
class Found:
    path: Path
    faces: list[Face]
    width: int = 0  # of the upright picture
    height: int = 0
    error: str | None = None  # the picture could not be read; `faces` is empty


def detect_one(detector: Detector, path: Path) -> Found:
    try:
        img = open_upright(path)
    except ImageRejected as exc:
        return Found(path, [], error=exc.reason)
    except OSError as exc:
        return Found(path, [], error=exc.strerror or "unreadable")
    except Exception as exc:  # one odd file is reported, never the end of the batch
        return Found(path, [], error=f"undecodable: {type(exc).__name__}")
    return Found(path, detector.detect(for_detection(img)), *img.size)


def detect_files(
    detector: Detector,
    paths: Iterable[Path],
    workers: int = 2,
) -> Iterator[Found]:
    """Found results in the order of `paths`, as they come (so callers can save as they go)."""
    with ThreadPoolExecutor(max(1, workers)) as pool:
        yield from pool.map(lambda p: detect_one(detector, p), paths)
