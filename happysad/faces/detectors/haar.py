"""OpenCV's Haar cascade (`cv2.data`, OpenCV 4.x wheels): fast, frontal faces only, no probability."""

from __future__ import annotations

import threading

import numpy as np

from happysad.faces.detectors.base import MIN_DETECT, DetectorUnavailable, Face, relative

CASCADE = "haarcascade_frontalface_default.xml"


class HaarDetector:
    """Tens of milliseconds a picture; misses turned heads and finds faces in patterns more often."""

    name = "haar"

    def __init__(self, min_face: int = MIN_DETECT, neighbours: int = 5) -> None:
        self.min_face = min_face
        self.neighbours = neighbours
        self._local = threading.local()  # CascadeClassifier is not safe to share between threads

    def _cascade(self):
        cascade = getattr(self._local, "cascade", None)
        if cascade is None:
            try:
                import cv2
            except ImportError as exc:
                raise DetectorUnavailable(
                    "OpenCV is not installed (pip install 'opencv-python-headless<5')"
                ) from exc
            folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
            cascade = cv2.CascadeClassifier(f"{folder}{CASCADE}") if folder else None
            if cascade is None or cascade.empty():
                raise DetectorUnavailable(
                    f"OpenCV {cv2.__version__} ships no Haar cascades (OpenCV 5 dropped them)"
                )
            self._local.cascade = cascade
        return cascade

    def detect(self, rgb: np.ndarray) -> list[Face]:
        import cv2

        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        found = self._cascade().detectMultiScale(
            gray, scaleFactor=1.1, minNeighbors=self.neighbours, minSize=(self.min_face, self.min_face)
        )
        height, width = gray.shape
        return relative(
            [(float(x), float(y), float(w), float(h), None) for x, y, w, h in found], width, height
        )
