"""The machine half of curation, second step: group exact and near duplicates of scanned images."""

from __future__ import annotations

from dataclasses import dataclass

from curation import grouping
from curation.catalog import Catalog


@dataclass
class DedupeReport:
    images: int
    threshold: int
    groups: list[list[str]]
    conflicts: list[list[str]]
    exact_groups: int
    near_groups: int
    to_drop: int


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
