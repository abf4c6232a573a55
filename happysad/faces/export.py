"""A face export, written in one place: class folders of square face crops, manifest.csv tying
each crop to its picture (label, duplicate group, box), pictures.csv listing every picture
searched (with how many faces it gave, 0 for none) and faces.json saying how they were cut.

Two commands write one: `curate export --faces` (boxes from `curate faces`) and `train` on a
picture export (boxes from an earlier face export of the same pictures, else found then). The
trainer and `predict` read it back the same way whoever wrote it.

    >>> rows = write(building, pictures, how=FaceCut("mtcnn:min20", margin=0.2, min_face=24))
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from happysad.common import tables
from happysad.common.images import ImageRejected
from happysad.faces import crops
from happysad.faces.batch import Found, detect_files
from happysad.faces.crops import FaceCut, read_cut, write_cut
from happysad.faces.detectors.base import Detector, Face
from happysad.faces.images import open_upright


@dataclass(frozen=True)
class Picture:
    """A picture to cut: its own export row (path relative to the export), where to read it, the
    name its crops record it by (`image`: a raw path in a workspace), and its faces."""

    row: tables.Exported
    file: Path
    image: str
    faces: list[Face]


def known_faces(folder: Path, how: FaceCut) -> dict[str, list[Face]]:
    """image sha256 → its big-enough faces, for every picture the face export in `folder`
    searched with the same detector, margin and minimum size; {} otherwise."""
    if read_cut(folder) != how:
        return {}
    found: dict[str, list[Face]] = {r.image_sha256: [] for r in tables.read_searched(folder)}
    for row in tables.read_manifest(folder) or []:
        if row.image_sha256 in found and row.box:
            found[row.image_sha256].append(crops.parse_box(row.box))
    return found


def find(
    files: list[Path],
    digests: list[str | None],
    known: dict[str, list[Face]],
    detector: Detector,
    min_face: int = 0,
    on_each: Callable[[int, int], None] | None = None,
) -> list[Found]:
    """Each file's faces, in order: a known picture's (by its sha256) as they are, the others
    found now (`on_each(done, to_find)` after each), those smaller than `min_face` px left out."""
    todo = [f for f, d in zip(files, digests, strict=True) if d not in known]
    detected = detect_files(detector, todo)
    out: list[Found] = []
    done = 0
    for file, digest in zip(files, digests, strict=True):
        if digest in known:
            out.append(Found(file, known[digest]))
            continue
        found = next(detected)
        big = [f for f in found.faces if crops.big_enough(f, found.width, found.height, min_face)]
        out.append(replace(found, faces=big))
        done += 1
        if on_each is not None:
            on_each(done, len(todo))
    return out


def write(
    building: Path, pictures: Iterable[Picture], how: FaceCut, left_out: Counter[str]
) -> list[tables.Exported]:
    """Cut every big-enough face into `building`/<label>/<stem>.face<k>.jpg and write the three
    tables; a picture that cannot be read or has no face is counted in `left_out` by reason."""
    rows: list[tables.Exported] = []
    searched: list[tables.Searched] = []
    for picture in pictures:
        cut = _cut(building, picture, how, left_out)
        rows += cut
        searched.append(tables.Searched(picture.image, picture.row.sha256, picture.row.label, len(cut)))
    tables.write_manifest(building, rows, faces=True)
    tables.write_searched(building, searched)
    write_cut(building, how)
    return rows


def _cut(building: Path, picture: Picture, how: FaceCut, left_out: Counter[str]) -> list[tables.Exported]:
    if not picture.faces:
        left_out["no face found"] += 1
        return []
    try:
        img = open_upright(picture.file)
    except (ImageRejected, OSError) as exc:
        left_out[f"unreadable: {getattr(exc, 'reason', exc)}"] += 1
        return []
    stem = Path(picture.row.path).with_suffix("")
    out = []
    for k, (face, piece) in enumerate(crops.cuts(img, picture.faces, how)):
        if piece is None:
            left_out[f"face smaller than {how.min_face} px"] += 1
            continue
        jpeg = crops.jpeg(piece)
        target = building / f"{stem}.face{k}.jpg"  # written as they are cut, so memory stays flat
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(jpeg)
        out.append(
            replace(
                picture.row,
                path=str(target.relative_to(building)),
                sha256=hashlib.sha256(jpeg).hexdigest(),
                image=picture.image,
                image_sha256=picture.row.sha256,
                box=crops.box_text(face),
            )
        )
    return out
