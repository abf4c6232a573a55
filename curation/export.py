"""`curate export`: class folders the trainer reads, plus a manifest that keeps groups together.

Exported: one keeper per duplicate group, nothing flagged by scan, nothing rejected in
review, nothing from a group whose labels still conflict. Files are hard links into
raw/ where the filesystem allows (no extra space), copies otherwise. Idempotent: files
an earlier export wrote and this one does not want are removed (only those; raw/ is
never touched).
"""

from __future__ import annotations

import csv
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from curation import decisions
from curation.catalog import Catalog
from curation.decisions import Decision
from curation.grouping import rank_key

MANIFEST = "manifest.csv"
COLUMNS = ("path", "label", "sha256", "group_id", "source_url", "origin")


@dataclass
class ExportReport:
    out: str
    exported: int = 0
    per_label: Counter[str] = field(default_factory=Counter)
    left_out: Counter[str] = field(default_factory=Counter)
    removed: int = 0


def _link(src: Path, target: Path) -> None:
    if target.exists():
        if os.path.samefile(src, target) or target.stat().st_size == src.stat().st_size:
            return
        target.unlink()
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, target)
    except OSError:
        shutil.copyfile(src, target)


def plan(catalog: Catalog, reviewed: dict[str, Decision]) -> tuple[list[dict[str, str]], Counter[str]]:
    """Which images go where; also why the others are left out."""
    rows = catalog.rows()
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
        elif row["group_id"] in conflicted:
            left_out["label conflict"] += 1
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
        chosen.append({
            "path": f"{decision.label}/{Path(row['path']).name}", "label": decision.label,
            "sha256": row["sha256"], "group_id": group_id, "source_url": row["source"] or "",
            "origin": row["origin"], "raw": row["path"],
        })  # fmt: skip
    return chosen, left_out


def export(catalog: Catalog, out: Path, reviewed: dict[str, Decision]) -> ExportReport:
    chosen, left_out = plan(catalog, reviewed)
    report = ExportReport(str(out), left_out=left_out)
    out.mkdir(parents=True, exist_ok=True)
    manifest = out / MANIFEST
    previous: set[str] = set()
    if manifest.exists():
        with manifest.open(newline="") as handle:
            previous = {r["path"] for r in csv.DictReader(handle)}
    wanted = {c["path"] for c in chosen}
    for stale in previous - wanted:
        (out / stale).unlink(missing_ok=True)
        report.removed += 1
    for item in chosen:
        _link(catalog.data_dir / item["raw"], out / item["path"])
        report.per_label[item["label"]] += 1
    report.exported = len(chosen)
    staging = out / f".{MANIFEST}.part"
    with staging.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(sorted(chosen, key=lambda c: c["path"]))
    os.replace(staging, manifest)
    return report
