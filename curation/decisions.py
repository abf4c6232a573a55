"""What reviewers decided in the FiftyOne App, and what follows for duplicate groups.

A reviewer rejects an image by tagging it `reject`, and changes its label by editing
its `ground_truth` classification (the App's Annotate tab); a picture that only looks like
junk (curation.quality) is let back into the export by tagging it `keep`. A duplicate group is a
conflict while its non-rejected members carry more than one label.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from curation import quality

REJECT = "reject"
KEEP = "keep"  # a reviewer's word that a picture flagged as looking like junk is fine
FLAG_TAGS = ("corrupt", "undecodable", "not_image", "bomb", "small", "animated", "missing")
NO_FACE_TAG = "no_face"
CONFLICT = "conflict"
UNDECIDED = (CONFLICT, *FLAG_TAGS)  # kept out of the export until a reviewer decides
MACHINE_TAGS = frozenset({*FLAG_TAGS, "duplicate", "near_duplicate", CONFLICT, NO_FACE_TAG, *quality.TAGS})


@dataclass(frozen=True)
class Decision:
    label: str
    rejected: bool
    kept: bool = False  # tagged `keep`: a junk-looking picture goes to the export after all


def read(fo: ModuleType, name: str, data_dir: Path) -> dict[str, Decision]:
    """path (relative to the workspace) → the reviewer's label and rejection."""
    if name not in fo.list_datasets():
        return {}
    dataset = fo.load_dataset(name)
    if "ground_truth" not in dataset.get_field_schema():
        return {}
    paths, labels, tags = dataset.values(["filepath", "ground_truth.label", "tags"])
    root = str(data_dir) + "/"
    return {
        p.removeprefix(root): Decision(label, REJECT in (t or []), KEEP in (t or []))
        for p, label, t in zip(paths, labels, tags, strict=True)
        if label is not None
    }


def effective(row: sqlite3.Row, decisions: dict[str, Decision]) -> Decision:
    return decisions.get(row["path"], Decision(row["label"], False))


def conflicted_groups(rows: list[sqlite3.Row], decisions: dict[str, Decision]) -> set[str]:
    labels: dict[str, set[str]] = {}
    for row in rows:
        d = effective(row, decisions)
        if row["group_id"] and not d.rejected:
            labels.setdefault(row["group_id"], set()).add(d.label)
    return {g for g, found in labels.items() if len(found) > 1}
