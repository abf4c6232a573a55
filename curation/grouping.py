"""Duplicate groups: exact (same sha256) and near (perceptual hashes), formed transitively.

A pair of images is near-duplicate when some view of one is within `threshold` pHash
bits of some view of the other, and either that distance is at most `sure` or dHash
agrees (within `dhash_threshold`). One keeper per group: unflagged first, then the
highest resolution, then the largest file. A group whose members carry different labels
is a conflict.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from curation.search import near_pairs

# Swept on bench/dedupe_quality.py's seed-scrape set (F1: 6/6/-: 0.777, 8/8/-: 0.774,
# 10/10/-: 0.772, 12/12/-: 0.727, 8/4/10: 0.783, 10/4/10: 0.784, 12/6/12: 0.761):
# pHash ≤ 4 is sure, up to 8 needs dHash ≤ 10 to agree. 8 rather than 10 costs 0.0005
# F1 and makes the index search several times faster.
THRESHOLD = 8
SURE = 4
DHASH_THRESHOLD = 10


@dataclass(frozen=True)
class Member:
    path: str
    label: str
    sha256: str
    width: int
    height: int
    bytes: int
    flag: str | None
    phash: tuple[int, ...]  # one per view: full, centre
    dhash: tuple[int, ...]  # full


@dataclass
class Group:
    id: str
    members: list[str]
    keeper: str
    roles: dict[str, str]  # path → keeper | duplicate | near_duplicate
    labels: list[str]

    @property
    def conflict(self) -> bool:
        return len(set(self.labels)) > 1


def _min_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest Hamming distance over every view pair; a, b: (k, views) uint64."""
    views = a.shape[1]
    return np.min([np.bitwise_count(a[:, i] ^ b[:, j]) for i in range(views) for j in range(views)], axis=0)


def near_duplicate_pairs(
    phash: np.ndarray,
    dhash: np.ndarray,
    threshold: int = THRESHOLD,
    sure: int = SURE,
    dhash_threshold: int = DHASH_THRESHOLD,
) -> np.ndarray:
    """Image index pairs (i < j) judged near-duplicate; phash, dhash: (n, views) uint64."""
    n, views = phash.shape
    if n < 2:
        return np.empty((0, 2), dtype=np.int64)
    owner = np.tile(np.arange(n), views)
    hits = near_pairs(phash.T.ravel(), threshold)
    a, b = owner[hits[:, 0]], owner[hits[:, 1]]
    pairs = np.unique(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1), axis=0)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    if not len(pairs):
        return pairs
    d_p = _min_distance(phash[pairs[:, 0]], phash[pairs[:, 1]])
    d_d = _min_distance(dhash[pairs[:, 0]], dhash[pairs[:, 1]])
    return pairs[(d_p <= sure) | ((d_p <= threshold) & (d_d <= dhash_threshold))]


def rank_key(flag: str | None, width: int, height: int, size: int, path: str) -> tuple[bool, int, int, str]:
    """Keepers: unflagged first, then the most pixels, then the largest file."""
    return (flag is None, width * height, size, path)


def keeper_rank(m: Member) -> tuple[bool, int, int, str]:
    return rank_key(m.flag, m.width, m.height, m.bytes, m.path)


def build_groups(members: list[Member], near: np.ndarray) -> list[Group]:
    """Connected components of exact and near pairs; singletons are not groups."""
    n = len(members)
    edges = [near.reshape(-1, 2)]
    first_of: dict[str, int] = {}
    for i, m in enumerate(members):
        j = first_of.setdefault(m.sha256, i)
        if j != i:
            edges.append(np.array([[j, i]]))
    pairs = np.concatenate(edges) if n else np.empty((0, 2), dtype=np.int64)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    by_component: dict[int, list[Member]] = {}
    for i, c in enumerate(component):
        by_component.setdefault(int(c), []).append(members[i])
    groups = [sorted(g, key=lambda m: m.path) for g in by_component.values() if len(g) > 1]
    groups.sort(key=lambda g: g[0].path)
    out = []
    for number, group in enumerate(groups, 1):
        keeper = max(group, key=keeper_rank)
        roles = {
            m.path: "keeper"
            if m is keeper
            else "duplicate"
            if m.sha256 == keeper.sha256
            else "near_duplicate"
            for m in group
        }
        out.append(
            Group(f"g{number:05d}", [m.path for m in group], keeper.path, roles, [m.label for m in group])
        )
    return out


def hash_matrix(members: list[Member]) -> tuple[np.ndarray, np.ndarray]:
    phash = np.array([m.phash for m in members], dtype=np.int64).reshape(len(members), -1).view(np.uint64)
    dhash = np.array([m.dhash for m in members], dtype=np.int64).reshape(len(members), -1).view(np.uint64)
    return phash, dhash


def find_groups(
    members: list[Member],
    threshold: int = THRESHOLD,
    sure: int = SURE,
    dhash_threshold: int = DHASH_THRESHOLD,
) -> list[Group]:
    if len(members) < 2:
        return []
    phash, dhash = hash_matrix(members)
    return build_groups(members, near_duplicate_pairs(phash, dhash, threshold, sure, dhash_threshold))
