"""Which reader `train` gives a folder of pictures: its faces, or the whole frame.

A face model reads web photos it has never seen; a whole-frame one learns the scrape. On a
held-back scrape of the seed queries (1,041 pictures, issue 31) the README's whole-frame loop
read new photos at balanced accuracy 0.556 (ROC-AUC 0.585), and the shipped prior alone read
the pictures with a face at 0.855 (0.916). So a picture export of people is cut into faces (a
face export beside it, `<folder>-faces`, what `curate export --faces` writes), and the run
trains on those from the prior: a face run, which says "no face found" rather than guess.

The whole frame is kept for what is not a photo of people, and for whoever asks for it:
- `--whole-frame`, or `--arch` (architectures are whole-frame models), or `--init` a
  whole-frame run;
- pictures that are face crops already (FER2013-like, `crops.looks_like_crops`);
- pictures where faces are rare: under FEW_FACES of a sample of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from happysad.common import tables
from happysad.common.files import fresh_folder, replaceable
from happysad.common.images import file_sha256
from happysad.faces import crops
from happysad.faces import export as face_export
from happysad.faces.crops import FaceCut, read_cut
from happysad.faces.detectors import Face
from trainer import data
from trainer.config import NO_INIT, TrainConfig
from trainer.errors import DataError
from trainer.face_scoring import DEFAULTS
from trainer.predict import FACES, WHOLE_FRAME
from trainer.run import open_run

# Under this share of sampled pictures with a face, a folder is not about people. The seed and
# other scrapes: 61% and 65% of pictures with a face; the demo's drawn smileys, objects and
# banners: 0%. A third leaves room for scrapes of crowds seen from afar.
FEW_FACES = 0.3
SAMPLE = 24  # pictures searched before deciding: 0.1 to 0.8 s each with MTCNN on the AVX2-only EPYC


@dataclass(frozen=True)
class Choice:
    """The reader, why, and for faces the face export the run trains on."""

    reader: str  # FACES or WHOLE_FRAME
    why: str
    crops: Path | None = None
    pictures: int = 0  # searched for faces (all of them, when the faces were chosen)
    with_face: int = 0


def face_folder(pictures: Path) -> Path:
    """Where a picture export's faces go: beside it, as `curate export --faces` names them."""
    return pictures.with_name(f"{pictures.name}-faces")


def choose(cfg: TrainConfig, on_search: Callable[[int, int], None] | None = None) -> Choice:
    """The reader for `cfg.data_dir`; for faces, the face export is written (or reused) first."""
    if read_cut(cfg.data_dir) is not None:
        return Choice(FACES, "face crops (curate export --faces)", cfg.data_dir)
    asked = _asked(cfg)
    if asked:
        return Choice(WHOLE_FRAME, asked)
    items = data.list_tree(cfg.data_dir)
    try:
        side = data.shape_of([i.path for i in items]).median_side
    except DataError:
        return Choice(WHOLE_FRAME, "no readable picture to search for faces")
    if crops.looks_like_crops(side):
        return Choice(WHOLE_FRAME, f"the pictures are face crops already (median short side {side} px)")
    return _search(cfg.data_dir, items, on_search)


def _asked(cfg: TrainConfig) -> str | None:
    if cfg.whole_frame:
        return "asked (--whole-frame)"
    if cfg.arch:
        return f"asked (--arch {cfg.arch})"
    if cfg.init is not None and (str(cfg.init) == NO_INIT or not open_run(cfg.init).config.faces):
        return f"--init {cfg.init} reads the whole frame"
    return None


def _search(folder: Path, items: list[data.Item], on_search) -> Choice:
    """Faces in a sample first (a folder without people is not searched whole), then in all."""
    how = DEFAULTS
    known = face_export.known_faces(face_folder(folder), how)
    pictures = _pictures(folder, items)
    sample = pictures[:: max(1, len(pictures) // SAMPLE)][:SAMPLE]
    found = _faces(sample, known, how, on_search)
    with_face = sum(bool(found[p.row.sha256]) for p in sample)
    if with_face < FEW_FACES * len(sample):
        why = f"faces in {with_face} of {len(sample)} sampled pictures (under {FEW_FACES:.0%})"
        why += ": not photos of people"
        return Choice(WHOLE_FRAME, why, pictures=len(sample), with_face=with_face)
    return cut(folder, on_search, pictures, known | found)


def cut(
    folder: Path,
    on_search: Callable[[int, int], None] | None = None,
    pictures: list[face_export.Picture] | None = None,
    known: dict[str, list[Face]] | None = None,
) -> Choice:
    """Every picture's faces (known ones reused) as the face export beside `folder`; a face
    export that already holds exactly these pictures, cut the same way, is left as it is."""
    out, how = face_folder(folder), DEFAULTS
    if pictures is None:
        pictures = _pictures(folder, data.list_tree(folder))
    found = _faces(pictures, known or face_export.known_faces(out, how), how, on_search)
    searched = [face_export.Picture(p.row, p.file, p.image, found[p.row.sha256]) for p in pictures]
    with_face = sum(bool(p.faces) for p in searched)
    if not _same(out, searched, how):
        with fresh_folder(out) as building:
            replaceable(out, tables.EXPORT_MANIFEST, "face export")
            face_export.write(building, searched, how, Counter())
    why = f"faces in {with_face} of {len(searched)} pictures ({with_face / max(1, len(searched)):.0%})"
    return Choice(FACES, why, out, len(searched), with_face)


def _pictures(folder: Path, items: list[data.Item]) -> list[face_export.Picture]:
    """Each picture with its export row: the manifest's, or made up for a hand-made tree."""
    rows = {str((folder / r.path).resolve()): r for r in tables.read_manifest(folder) or []}
    out = []
    for item in items:
        file = Path(item.path)
        relative = file.relative_to(folder.resolve()).as_posix()
        row = rows.get(item.path) or tables.Exported(
            relative, item.label, file_sha256(file) or f"unreadable:{file}", item.group
        )
        out.append(face_export.Picture(row, file, f"{folder.name}/{relative}", []))
    return out


def _faces(pictures, known: dict[str, list[Face]], how: FaceCut, on_search) -> dict[str, list[Face]]:
    """sha256 → big-enough faces: known ones as they are, the others found now."""
    files, digests = [p.file for p in pictures], [p.row.sha256 for p in pictures]
    found = face_export.find(files, digests, known, how.make_detector(), how.min_face, on_search)
    return {p.row.sha256: f.faces for p, f in zip(pictures, found, strict=True)}


def _same(out: Path, pictures: list[face_export.Picture], how: FaceCut) -> bool:
    """Whether the face export in `out` was cut from exactly these pictures, labels and groups."""
    if read_cut(out) != how:
        return False
    had = {(r.image_sha256, r.label) for r in tables.read_searched(out)}
    groups = {(r.image_sha256, r.group_id) for r in tables.read_manifest(out) or []}
    want = {(p.row.sha256, p.row.label) for p in pictures}
    return had == want and groups <= {(p.row.sha256, p.row.group_id) for p in pictures}
