"""Face crops: square (so resizing to the model's input does not squash a face), with a margin."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping

from PIL import Image

from happysad.faces.detectors.base import Face

MARGIN = 0.2  # of the box's longer side, on each side: FER2013-like framing (brow to chin)
SETTINGS = "faces.json"  # beside exported crops: how they were cut, so predict cuts the same way
MIN_FACE = 24  # pixels in the original picture; smaller faces carry little expression
# Pictures this small (median short side) are face crops already, not photos of people: FER2013
# is 48 px, `export --faces` crops of web photos mostly 60-200 px, and photos of people run to
# hundreds (the seed scrape's median short side is 400 px; scan flags under 64 px as small).
CROP_SIDE = 96


def looks_like_crops(median_short_side: int) -> bool:
    return median_short_side <= CROP_SIDE


def square_box(face: Face, width: int, height: int, margin: float = MARGIN) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of a square around the face, moved inside the picture if it can be."""
    x, y, w, h = face.pixels(width, height)
    side = min(round(max(w, h) * (1 + 2 * margin)), width, height)
    left = min(max(0, x + w // 2 - side // 2), width - side)
    top = min(max(0, y + h // 2 - side // 2), height - side)
    return left, top, left + side, top + side


def big_enough(face: Face, width: int, height: int, min_face: int = MIN_FACE) -> bool:
    _, _, w, h = face.pixels(width, height)
    return max(w, h) >= min_face


def crop(img: Image.Image, face: Face, margin: float = MARGIN) -> Image.Image:
    return img.crop(square_box(face, *img.size, margin))


def cuts(
    picture: Image.Image, faces: Iterable[Face], how: Mapping
) -> Iterator[tuple[Face, Image.Image | None]]:
    """Each face with its crop for the model, None when it is under `how["min_face"]`: the one
    cut that a face export, `predict --faces` and `serve` share. `how`: a faces.json's settings
    (margin, min_face), so a face is cut for reading as it was cut for training.

    >>> [(f.w, c.size) for f, c in cuts(Image.new("RGB", (200, 100)), [Face(0.4, 0.3, 0.2, 0.4, None)],
    ...                                 {"margin": 0.0, "min_face": 24})]
    [(0.2, (40, 40))]
    """
    for face in faces:
        yield (
            face,
            crop(picture, face, how["margin"]) if big_enough(face, *picture.size, how["min_face"]) else None,
        )


def jpeg(piece: Image.Image) -> bytes:
    """A crop as the JPEG a face export holds (quality 95: the crop is the training input)."""
    buffer = io.BytesIO()
    piece.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def box_text(face: Face) -> str:
    """The box as a face export's manifest writes it: "x,y,w,h", relative to the picture."""
    return ",".join(f"{v:.4f}" for v in (face.x, face.y, face.w, face.h))


def parse_box(text: str) -> Face:
    x, y, w, h = (float(v) for v in text.split(","))
    return Face(x, y, w, h, None)
