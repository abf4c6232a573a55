"""The CSV files the stages hand each other, each in one place: its name, its columns, a typed
row, a writer and a reader.

- manifest.csv, in an export (`curate export` → `train`, `curate review --predictions`): one
  row per exported file, its label, duplicate group and provenance; for face crops also the
  picture it was cut from and the face's box.
- split.csv, in a run (`train` → `curate review --predictions`, the demo): every file the run
  read and the split it was in (`label_issue`: left out of training for a disputed label).
- pictures.csv, in a face export: every picture searched for faces, with how many big-enough
  faces it gave (0: none), so a later export or `train` reuses the search instead of redoing it.
- out_of_fold.csv, in a run (`train --cross-fit K` → `curate review --predictions`): each
  file's fold and the probabilities of models that never trained on it.

Writers stage the file and rename it in (happysad.common.files.write_atomic); readers return typed rows,
nothing when the file is absent.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from happysad.common.errors import WorkspaceError
from happysad.common.files import write_atomic

EXPORT_MANIFEST = "manifest.csv"
SPLIT_FILE = "split.csv"
OUT_OF_FOLD = "out_of_fold.csv"
SEARCHED_FILE = "pictures.csv"

MANIFEST_COLUMNS = ("path", "label", "sha256", "group_id", "source_url", "origin")
FACE_COLUMNS = (*MANIFEST_COLUMNS, "image", "image_sha256", "box")  # the picture cut from, the face in it
SPLIT_COLUMNS = ("path", "label", "group", "split")
SEARCHED_COLUMNS = ("image", "image_sha256", "label", "faces")
FOLD_COLUMNS = ("path", "label", "group", "fold")  # then p_<label> for each of the run's labels


@dataclass(frozen=True)
class Exported:
    """A manifest.csv row. `path` is relative to the export (`<label>/<file>`)."""

    path: str
    label: str
    sha256: str
    group_id: str
    source_url: str = ""
    origin: str = ""
    image: str = ""  # face crops: the raw picture (relative to the workspace) it was cut from
    image_sha256: str = ""
    box: str = ""  # face crops: x,y,w,h relative to the picture

    @classmethod
    def of(cls, values: Mapping[str, object]) -> Exported:
        """The row from a mapping that may hold more (the export's plan carries the raw path)."""
        return cls(**{f.name: str(values.get(f.name) or "") for f in fields(cls)})


@dataclass(frozen=True)
class Split:
    """A split.csv row: `path` absolute, as the run read it."""

    path: str
    label: str
    group: str
    split: str


@dataclass(frozen=True)
class Searched:
    """A pictures.csv row: a picture a face export was cut from (or searched in vain)."""

    image: str
    image_sha256: str
    label: str
    faces: int


@dataclass(frozen=True)
class OutOfFold:
    """An out_of_fold.csv row: `fold` is the fold's number, or "test" (scored by the mean of the
    fold models); `probabilities` in the run's label order."""

    path: str
    label: str
    group: str
    fold: str
    probabilities: tuple[float, ...]


def _write(path: Path, columns: Iterable[str], rows: Iterable[Iterable[object]]) -> None:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(columns)
    writer.writerows(rows)
    write_atomic(path, text.getvalue())


def _read(path: Path) -> tuple[set[str], list[dict[str, str]]]:
    """(columns, rows); none of either when the file is absent. One that is there but is no
    regular file (a FIFO would hang the reader) is refused in one line, not taken for absent."""
    if not path.exists() and not path.is_symlink():
        return set(), []
    if not path.is_file():
        raise WorkspaceError(f"{path} is not a regular file; it cannot be read (a broken run or export?)")
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        return set(reader.fieldnames or ()), list(reader)


def write_manifest(folder: Path, rows: Iterable[Exported], faces: bool = False) -> None:
    columns = FACE_COLUMNS if faces else MANIFEST_COLUMNS
    ordered = sorted(rows, key=lambda r: r.path)
    _write(folder / EXPORT_MANIFEST, columns, ([asdict(r)[c] for c in columns] for r in ordered))


def read_manifest(folder: Path) -> list[Exported] | None:
    """The export's rows; None when `folder` is no export: no manifest (a hand-made tree), or
    one without the columns the trainer reads (a file of the user's own)."""
    columns, rows = _read(folder / EXPORT_MANIFEST)
    if not {"path", "label", "group_id"} <= columns:  # what the trainer needs of one
        return None
    return [Exported.of(r) for r in rows]


def write_splits(path: Path, rows: Iterable[Split]) -> None:
    ordered = sorted(rows, key=lambda r: (r.split, r.path))
    _write(path, SPLIT_COLUMNS, ((r.path, r.label, r.group, r.split) for r in ordered))


def read_splits(path: Path) -> list[Split]:
    return [Split(r["path"], r["label"], r["group"], r["split"]) for r in _read(path)[1]]


def write_searched(folder: Path, rows: Iterable[Searched]) -> None:
    ordered = sorted(rows, key=lambda r: r.image)
    values = ((r.image, r.image_sha256, r.label, r.faces) for r in ordered)
    _write(folder / SEARCHED_FILE, SEARCHED_COLUMNS, values)


def read_searched(folder: Path) -> list[Searched]:
    """The pictures a face export searched; none for an export older than this file."""
    rows = _read(folder / SEARCHED_FILE)[1]
    return [Searched(r["image"], r["image_sha256"], r["label"], int(r["faces"])) for r in rows]


def write_out_of_fold(path: Path, labels: list[str], rows: Iterable[OutOfFold]) -> None:
    columns = (*FOLD_COLUMNS, *(f"p_{label}" for label in labels))
    _write(
        path,
        columns,
        ((r.path, r.label, r.group, r.fold, *(f"{p:.6f}" for p in r.probabilities)) for r in rows),
    )


def read_out_of_fold(path: Path, labels: list[str]) -> list[OutOfFold]:
    rows = _read(path)[1]
    return [
        OutOfFold(r["path"], r["label"], r["group"], r["fold"], tuple(float(r[f"p_{x}"]) for x in labels))
        for r in rows
    ]
