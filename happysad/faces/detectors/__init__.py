"""Interchangeable face detectors behind one interface (`Detector.detect(rgb) -> list[Face]`)."""

from __future__ import annotations

from happysad.faces.detectors.base import MIN_DETECT, Detector, DetectorUnavailable, Face
from happysad.faces.detectors.haar import HaarDetector
from happysad.faces.detectors.mtcnn import MTCNNDetector

DETECTORS = {"mtcnn": MTCNNDetector, "haar": HaarDetector}
DEFAULT = "mtcnn"


def get(name: str = DEFAULT, min_face: int = MIN_DETECT) -> Detector:
    if name not in DETECTORS:
        raise DetectorUnavailable(f"unknown face detector {name!r} (choose from {', '.join(DETECTORS)})")
    return DETECTORS[name](min_face=min_face)


def setting(detector: Detector) -> str:
    """What makes two searches the same ("mtcnn:min20"); recorded with boxes and in runs."""
    return f"{detector.name}:min{detector.min_face}"


def from_setting(text: str) -> Detector:
    name, _, min_face = text.partition(":min")
    return get(name, int(min_face or MIN_DETECT))


__all__ = ["DEFAULT", "DETECTORS", "MIN_DETECT", "Detector", "DetectorUnavailable", "Face"]
__all__ += ["from_setting", "get", "setting"]
