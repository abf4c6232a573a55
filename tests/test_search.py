"""Near-duplicate search: the same answer as brute force, without the quadratic loop."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from curation.search import brute_pairs, choose_chunks, near_pairs


def _planted(n: int, threshold: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    h = rng.integers(0, 2**64 - 1, size=n, dtype=np.uint64)
    for src, dst in rng.integers(0, n, size=(n // 10, 2)):
        flips = rng.choice(64, size=rng.integers(0, threshold + 3), replace=False)
        h[dst] = h[src] ^ np.bitwise_or.reduce(np.uint64(1) << flips.astype(np.uint64))
    h[:5] = h[5]  # identical hashes collapse into one lookup
    return h


def _components(pairs: np.ndarray, n: int) -> np.ndarray:
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    labels = connected_components(graph, directed=False)[1]
    return np.unique(labels, return_inverse=True)[1]


@pytest.mark.parametrize("threshold", [0, 3, 6, 8, 10, 12])
def test_groups_equal_brute_force(threshold: int):
    h = _planted(1500, threshold, seed=threshold)
    ours, truth = near_pairs(h, threshold), brute_pairs(h, threshold)
    assert set(map(tuple, ours)) <= set(map(tuple, truth))  # nothing beyond the threshold
    a, b = _components(ours, len(h)), _components(truth, len(h))
    assert len(set(a)) == len(set(b))
    assert len({(x, y) for x, y in zip(a, b, strict=True)}) == len(set(a))  # same partition


def test_every_distinct_pair_is_found():
    h = _planted(800, 8, seed=1)
    distinct = brute_pairs(h, 8)
    distinct = {tuple(p) for p in distinct if h[p[0]] != h[p[1]]}
    found = {tuple(p) for p in near_pairs(h, 8)}
    # pairs of distinct values are reported between their first representatives
    first = {int(v): int(np.flatnonzero(h == v)[0]) for v in np.unique(h)}
    expected = {tuple(sorted((first[int(h[i])], first[int(h[j])]))) for i, j in distinct}
    assert expected <= found


def test_chunk_count_adapts_to_size_and_threshold():
    assert choose_chunks(1_000_000, 8) == 3
    assert choose_chunks(1_000, 2) >= 2
