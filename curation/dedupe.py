"""The machine half of curation: pick up new files, scan them, group duplicates."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from curation import grouping
from curation.catalog import Catalog
from curation.scan import MIN_SIZE, data_min_size, flag_small, scan_all


@dataclass
class ScanReport:
    new_from_collect: int
    scanned: int
    flags: Counter[str] = field(default_factory=Counter)
    min_size: int = MIN_SIZE  # what counted as small
    min_size_from: str = "option"  # "option" (--min-size) or "data" (data_min_size)


@dataclass
class DedupeReport:
    images: int
    threshold: int
    groups: list[list[str]]
    conflicts: list[list[str]]
    exact_groups: int
    near_groups: int
    to_drop: int


def scan(
    catalog: Catalog,
    min_size: int | None = None,
    workers: int | None = None,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ScanReport:
    """Scan every file not scanned yet (new collect output is picked up first). `small` is
    below `min_size`, or when None below the workspace's own threshold (scan.data_min_size)."""
    added = catalog.sync_collection()
    todo = catalog.unscanned()
    if on_start:
        on_start(len(todo))
    results = scan_all(catalog.data_dir, todo, workers, on_progress)
    if min_size is None:
        sides = [min(r["width"], r["height"]) for r in catalog.rows() if r["width"] and r["height"]]
        sides += [min(r.width, r.height) for r in results if r.width and r.height]
        chosen, source = data_min_size(sides), "data"
    else:
        chosen, source = min_size, "option"
    flag_small(results, chosen)
    catalog.save_scan(results)
    return ScanReport(added, len(results), Counter(r.flag for r in results if r.flag), chosen, source)


def dedupe(catalog: Catalog, threshold: int = grouping.THRESHOLD) -> DedupeReport:
    """Group exact and near duplicates over every scanned image and record them."""
    members = catalog.members()
    sure = min(grouping.SURE, threshold)
    groups = grouping.find_groups(members, threshold, sure, grouping.DHASH_THRESHOLD)
    catalog.save_groups(groups)
    catalog.set_meta("deduped", str(threshold))
    exact = sum(1 for g in groups if set(g.roles.values()) <= {"keeper", "duplicate"})
    return DedupeReport(
        images=len(members),
        threshold=threshold,
        groups=[g.members for g in groups],
        conflicts=[g.members for g in groups if g.conflict],
        exact_groups=exact,
        near_groups=len(groups) - exact,
        to_drop=sum(len(g.members) - 1 for g in groups),
    )
