"""Pictures as detectors and crops see them: checked like every scraped file, upright, RGB."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from happysad.common.images import decode_image, read_image_file, upright

DETECT_SIDE = 1024  # detection runs on a copy no longer than this; boxes are relative, so they carry over


def open_upright(path: Path) -> Image.Image:
    """Decode (bombs and broken files raise ImageRejected), apply EXIF orientation, RGB.

    Upright because that is how people, the App and the crops see the picture.
    """
    _, img = decode_image(read_image_file(path))
    return upright(img).convert("RGB")


def for_detection(img: Image.Image) -> np.ndarray:
    small = img.copy()
    small.thumbnail((DETECT_SIDE, DETECT_SIDE))
    return np.asarray(small)
