"""Face crops: square (so resizing to the model's input does not squash a face), with a margin."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image

from happysad.common.errors import HappysadError
from happysad.common.json_files import read_object
from happysad.faces.detectors import DETECTORS, Detector, Face, from_setting

MARGIN = 0.2  # of the box's longer side, on each side: FER2013-like framing (brow to chin)
SETTINGS = "faces.json"  # beside exported crops: how they were cut, so predict cuts the same way
MIN_FACE = 24  # pixels in the original picture; smaller faces carry little expression
# Pictures this small (median short side) are face crops already, not photos of people: FER2013
# is 48 px, `export --faces` crops of web photos mostly 60-200 px, and photos of people run to
# hundreds (the seed scrape's median short side is 400 px; scan flags under 64 px as small).
CROP_SIDE = 96


MAX_SETTINGS_BYTES = 2**16  # a faces.json is a hundred bytes; one from elsewhere is untrusted


@dataclass(frozen=True)
class FaceCut:
    """How faces are cut for the model: by which detector ("mtcnn:min20", see
    detectors.setting), widened by `margin` of the box on each side, skipped under `min_face`
    px. Written as faces.json beside a face export and as "faces" in a run's config.json, so
    predict and serve cut a face as the crops it was trained on were cut.

    >>> FaceCut.of({"detector": "haar:min20", "margin": 0.1, "min_face": 32}, "faces.json").min_face
    32
    """

    detector: str
    margin: float = MARGIN
    min_face: int = MIN_FACE

    @classmethod
    def of(cls, value: object, where: str) -> FaceCut:
        """Checked: `value` comes from a file that may have been edited or come from elsewhere."""
        wrong = _wrong(value)
        if wrong:
            raise HappysadError(f"{where}: {wrong}"[:300])
        return cls(value["detector"], float(value["margin"]), value["min_face"])  # type: ignore[index]

    def to_json(self) -> dict:
        return asdict(self)

    def make_detector(self) -> Detector:
        return from_setting(self.detector)


def _wrong(value: object) -> str | None:
    """What in a face cut's settings cannot be used, or None."""
    if not isinstance(value, dict) or not {"detector", "margin", "min_face"} <= value.keys():
        return f"not a face cut (detector, margin, min_face): {value!r}"
    detector, margin, min_face = value["detector"], value["margin"], value["min_face"]
    name, _, smallest = str(detector).partition(":min")
    if not isinstance(detector, str) or name not in DETECTORS or not (smallest or "0").isdigit():
        return f"detector must be one of {', '.join(DETECTORS)} (as 'mtcnn:min20'), not {detector!r}"
    if isinstance(margin, bool) or not isinstance(margin, int | float) or not 0 <= margin <= 1:
        return f"margin must be a number from 0 to 1, not {margin!r}"
    if isinstance(min_face, bool) or not isinstance(min_face, int) or min_face < 0:
        return f"min_face must be a whole number of pixels, not {min_face!r}"
    return None


def read_cut(folder: Path) -> FaceCut | None:
    """How a face export's crops were cut (its faces.json); None when `folder` is not one;
    HappysadError when the file is there but cannot be used."""
    how = folder / SETTINGS
    if not how.is_file():
        return None
    return FaceCut.of(read_object(how, "a face cut", MAX_SETTINGS_BYTES), str(how))


def write_cut(folder: Path, how: FaceCut) -> None:
    (folder / SETTINGS).write_text(json.dumps(how.to_json(), indent=2))


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
    picture: Image.Image, faces: Iterable[Face], how: FaceCut
) -> Iterator[tuple[Face, Image.Image | None]]:
    """Each face with its crop for the model, None when it is under `how.min_face`: the one cut
    that a face export, `predict --faces` and `serve` share, so a face is cut for reading as it
    was cut for training.

    >>> [(f.w, c.size) for f, c in cuts(Image.new("RGB", (200, 100)), [Face(0.4, 0.3, 0.2, 0.4, None)],
    ...                                 FaceCut("mtcnn:min20", margin=0.0))]
    [(0.2, (40, 40))]
    """
    for face in faces:
        yield (
            face,
            crop(picture, face, how.margin) if big_enough(face, *picture.size, how.min_face) else None,
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
