"""What every face detector gives back, whatever model is behind it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from happysad.common.errors import HappysadError

# the smallest face looked for, in pixels of the searched copy (happysad.faces.images.DETECT_SIDE): MTCNN's
# own default, and below what a 48 px crop can hold of an expression
MIN_DETECT = 20


class DetectorUnavailable(HappysadError):
    """The detector's library is not installed or cannot load its weights."""


@dataclass(frozen=True)
class Face:
    """A face box relative to the picture (x, y, width, height in 0..1, FiftyOne's convention),
    so it survives resizing; `score` is the detector's confidence when it has one."""

    x: float
    y: float
    w: float
    h: float
    score: float | None

    def pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        return (round(self.x * width), round(self.y * height), round(self.w * width), round(self.h * height))

    @property
    def area(self) -> float:
        return self.w * self.h


class Detector(Protocol):
    name: str
    min_face: int  # pixels on the picture the detector sees

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Faces in an RGB uint8 array (height, width, 3), in the detector's own order."""
        ...


def relative(
    boxes: list[tuple[float, float, float, float, float | None]], width: int, height: int
) -> list[Face]:
    """Pixel boxes (x, y, w, h, score) → Faces clipped to the picture."""
    faces = []
    for x, y, w, h, score in boxes:
        x0, y0 = max(0.0, x), max(0.0, y)
        x1, y1 = min(float(width), x + w), min(float(height), y + h)
        if x1 > x0 and y1 > y0:
            faces.append(Face(x0 / width, y0 / height, (x1 - x0) / width, (y1 - y0) / height, score))
    return faces
