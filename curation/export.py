"""`curate export`: class folders the trainer reads, plus a manifest that keeps groups together.

With `--faces` the class folders hold face crops instead of whole pictures: each crop
carries its picture's label and duplicate group (so crops of one photo, or of its
near-duplicates, never straddle two splits), and faces.json records how they were cut,
so `predict --faces` cuts new pictures the same way.

Exported: one keeper per duplicate group, nothing flagged by scan, nothing rejected in
review, nothing from a group whose labels still conflict. Files are hard links into
raw/ where the filesystem allows (no extra space), copies otherwise.

Each export is built whole in a fresh folder and swapped in for the earlier one
(happysad.common.files.fresh_folder): a reader, or a run killed at any moment, sees the old export
or the new one, never a mix (a relabelled picture in two class folders). So the folder
must be an earlier export, or new, or empty; raw/ is never touched.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from curation import decisions, quality
from curation.catalog import Catalog
from curation.decisions import Decision
from curation.errors import CurationError
from curation.grouping import rank_key
from happysad.common.files import fresh_folder, replaceable
from happysad.common.labels import is_label
from happysad.common.tables import EXPORT_MANIFEST, Exported, read_manifest, write_manifest
from happysad.faces import crops
from happysad.faces import export as face_export


@dataclass
class ExportReport:
    out: str
    exported: int = 0
    per_label: Counter[str] = field(default_factory=Counter)
    left_out: Counter[str] = field(default_factory=Counter)
    removed: int = 0


def _link(src: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, target)
    except OSError:
        shutil.copyfile(src, target)


def _previous(out: Path) -> set[str]:
    """The files the export in `out` holds; refuse a folder that is not an export (it is replaced).
    Asked inside fresh_folder, which has put back what a killed swap left."""
    if not replaceable(out, EXPORT_MANIFEST, "export"):
        return set()
    return {r.path for r in read_manifest(out) or []}


@dataclass(frozen=True)
class Chosen:
    """A picture the export writes: its manifest row, and the raw file (relative to the
    workspace) it is linked from."""

    row: Exported
    raw: str


def plan(catalog: Catalog, reviewed: dict[str, Decision]) -> tuple[list[Chosen], Counter[str]]:
    """Which images go where; also why the others are left out."""
    rows = catalog.rows()
    junk = {path: quality.junk_of(found) for path, found in catalog.verdicts().items()}
    conflicted = decisions.conflicted_groups(rows, reviewed)
    left_out: Counter[str] = Counter()
    candidates: dict[str, list] = {}
    for row in rows:
        decision = decisions.effective(row, reviewed)
        if decision.rejected:
            left_out["rejected in review"] += 1
        elif row["scanned_at"] is None:
            left_out["not scanned"] += 1
        elif row["flag"]:
            left_out[f"flagged {row['flag']}"] += 1
        elif junk.get(row["path"]) and not decision.kept:
            left_out[f"looks like junk: {junk[row['path']][0]}"] += 1
        elif row["group_id"] in conflicted:
            left_out["label conflict"] += 1
        elif not is_label(decision.label):  # a reviewer's label becomes a folder name below
            left_out["invalid label"] += 1
        else:
            key = row["group_id"] or f"s{row['sha256'][:12]}"
            candidates.setdefault(key, []).append((row, decision))
    chosen = []
    for group_id, members in sorted(candidates.items()):
        row, decision = max(
            members,
            key=lambda m: rank_key(None, m[0]["width"], m[0]["height"], m[0]["bytes"] or 0, m[0]["path"]),
        )
        left_out["duplicate of the keeper"] += len(members) - 1
        path = f"{decision.label}/{Path(row['path']).name}"
        exported = Exported(
            path, decision.label, row["sha256"], group_id, row["source"] or "", row["origin"] or ""
        )
        chosen.append(Chosen(exported, row["path"]))
    return chosen, left_out


def _refuse_empty(out: Path, previous: set[str], left_out: Counter[str]) -> None:
    """An export that would write nothing does not replace an earlier one (a workspace database
    moved aside, an export run before scan): raise CurationError saying why nothing is left."""
    if not previous:
        return
    why = ", ".join(f"{reason}: {n}" for reason, n in left_out.most_common(3)) or "no images"
    raise CurationError(
        f"nothing to export ({why}); {out} keeps its earlier export of {len(previous)} files "
        "(--allow-empty replaces it with an empty one)"
    )


def export(
    catalog: Catalog, out: Path, reviewed: dict[str, Decision], allow_empty: bool = False
) -> ExportReport:
    chosen, left_out = plan(catalog, reviewed)
    with fresh_folder(out) as building:
        previous = _previous(out)
        if not chosen and not allow_empty:
            _refuse_empty(out, previous, left_out)
        for item in chosen:
            _link(catalog.data_dir / item.raw, building / item.row.path)
        write_manifest(building, (c.row for c in chosen))
    removed = len(previous - {c.row.path for c in chosen})
    return ExportReport(str(out), len(chosen), Counter(c.row.label for c in chosen), left_out, removed)


def _pictures(catalog: Catalog, chosen: list[Chosen]) -> list[face_export.Picture]:
    """The chosen pictures with the faces `curate faces` found in them."""
    found = catalog.faces()
    unsearched = [c.raw for c in chosen if c.raw not in found]
    if unsearched:
        raise CurationError(
            f"{len(unsearched)} of the {len(chosen)} pictures to export have not been searched for faces"
            f" (first: {unsearched[0]}); run `curate faces` first"
        )
    root = catalog.data_dir
    return [face_export.Picture(c.row, root / c.raw, c.raw, found[c.raw]) for c in chosen]


def export_faces(
    catalog: Catalog,
    out: Path,
    reviewed: dict[str, Decision],
    margin: float = crops.MARGIN,
    min_face: int = crops.MIN_FACE,
    allow_empty: bool = False,
) -> ExportReport:
    """Face crops of the pictures `export` would write, as class folders with a manifest."""
    chosen, left_out = plan(catalog, reviewed)
    how = crops.FaceCut(catalog.face_setting(), margin, min_face)
    with fresh_folder(out) as building:
        previous = _previous(out)
        rows = face_export.write(building, _pictures(catalog, chosen), how, left_out)
        if not rows and not allow_empty:
            _refuse_empty(out, previous, left_out)  # the half-built folder goes, the old one stays
    removed = len(previous - {r.path for r in rows})
    return ExportReport(str(out), len(rows), Counter(r.label for r in rows), left_out, removed)
