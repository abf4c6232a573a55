"""All pairs of 64-bit hashes within a Hamming distance, without a quadratic Python loop.

Multi-index hashing: split each hash into m chunks. Two hashes at distance ≤ t have at
least one chunk at distance ≤ t // m (pigeonhole), so candidates come from probing each
chunk's buckets with every mask of at most t // m bits, all in numpy, then a vectorised
popcount verifies them. m is chosen per call to minimise probes plus candidates for the
given size and threshold. Identical hashes are collapsed first, so a thousand copies of
one logo cost one lookup, not a million pairs.
"""

from __future__ import annotations

from math import comb

import numpy as np

BLOCK = 1 << 22  # candidate pairs verified per step: bounds memory


def _chunks(m: int) -> list[tuple[int, int]]:
    """(shift, bits) of m chunks covering 64 bits as evenly as possible."""
    sizes = [64 // m + (1 if i < 64 % m else 0) for i in range(m)]
    shifts = [sum(sizes[:i]) for i in range(m)]
    return list(zip(shifts, sizes, strict=True))


def _cost(m: int, n: int, threshold: int) -> float:
    bits = 64 // m
    probes = sum(comb(bits, k) for k in range(threshold // m + 1))
    return m * probes * (1 + n / 2**bits)


def choose_chunks(n: int, threshold: int) -> int:
    return min(range(2, 9), key=lambda m: _cost(m, n, threshold) if 64 // m <= 24 else float("inf"))


def _masks(bits: int, radius: int) -> np.ndarray:
    """Every `bits`-bit mask with at most `radius` bits set."""
    masks = np.zeros(1, dtype=np.int64)
    singles = (1 << np.arange(bits)).astype(np.int64)
    layer = masks
    for _ in range(radius):
        layer = np.unique((layer[:, None] | singles[None, :]).ravel())
        masks = np.union1d(masks, layer)
    return masks


def brute_pairs(hashes: np.ndarray, threshold: int) -> np.ndarray:
    """Reference answer by full comparison (for tests and small inputs)."""
    h = np.asarray(hashes, dtype=np.uint64)
    i, j = np.triu_indices(len(h), k=1)
    keep = np.bitwise_count(h[i] ^ h[j]) <= threshold
    return np.stack([i[keep], j[keep]], axis=1)


def _distinct_pairs(values: np.ndarray, threshold: int) -> np.ndarray:
    """Pairs (i < j) of distinct values within `threshold`."""
    n = len(values)
    m = choose_chunks(n, threshold)
    found: list[np.ndarray] = [np.empty((0, 2), dtype=np.int64)]
    for shift, bits in _chunks(m):
        chunk = ((values >> np.uint64(shift)) & np.uint64((1 << bits) - 1)).astype(np.int64)
        order = np.argsort(chunk, kind="stable")
        starts = np.searchsorted(chunk[order], np.arange((1 << bits) + 1))
        for mask in _masks(bits, threshold // m):
            target = chunk ^ mask
            lo = starts[target]
            counts = starts[target + 1] - lo
            step = max(1, BLOCK // max(1, int(counts.mean())))
            for begin in range(0, n, step):
                cnt = counts[begin : begin + step]
                total = int(cnt.sum())
                if not total:
                    continue
                left = np.repeat(np.arange(begin, begin + len(cnt)), cnt)
                offsets = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
                right = order[np.repeat(lo[begin : begin + len(cnt)], cnt) + offsets]
                keep = left < right
                left, right = left[keep], right[keep]
                close = np.bitwise_count(values[left] ^ values[right]) <= threshold
                found.append(np.stack([left[close], right[close]], axis=1))
    pairs = np.concatenate(found)
    return np.unique(pairs, axis=0) if len(pairs) else pairs


def near_pairs(hashes: np.ndarray, threshold: int) -> np.ndarray:
    """Index pairs (i < j) whose hashes differ in at most `threshold` bits.

    Identical hashes are returned as a chain (each linked to the first of its kind),
    which is enough to form groups; distinct hashes are returned exhaustively.
    """
    h = np.asarray(hashes, dtype=np.uint64)
    if len(h) < 2:
        return np.empty((0, 2), dtype=np.int64)
    values, first, inverse = np.unique(h, return_index=True, return_inverse=True)
    pairs = [np.empty((0, 2), dtype=np.int64)]
    same = np.flatnonzero(first[inverse] != np.arange(len(h)))
    if len(same):
        pairs.append(np.stack([first[inverse[same]], same], axis=1))
    between = _distinct_pairs(values, threshold)
    if len(between):
        a, b = first[between[:, 0]], first[between[:, 1]]
        pairs.append(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1))
    return np.concatenate(pairs).astype(np.int64)
