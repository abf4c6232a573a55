"""File-level, stratified, deterministic splits in which no duplicate group straddles two sets.

The seed notebook split a dataset that reshuffled on every pass with take/skip, so every
"test" image was trained on. Here the split is fixed before anything is read, written to
split.csv, and made of whole groups: duplicates (from curate's manifest.csv) always land
on the same side.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable

from trainer.data import Item

SPLITS = ("train", "validation", "test")


LABEL_ISSUE = "label_issue"  # left out of training: evidence from models that never saw it disputes its label


def assign(
    items: Iterable[Item], fractions: tuple[float, ...] = (0.7, 0.2, 0.1), seed: int = 1337
) -> dict[str, str]:
    """path → split name. Groups are dealt per label, largest first, to the split furthest
    below its target share, so each label is stratified and sizes track the fractions."""
    return _deal(items, fractions, SPLITS[: len(fractions)], seed)


def folds(items: Iterable[Item], k: int, seed: int = 1337) -> dict[str, int]:
    """path → fold 0..k-1: k stratified parts of about equal size, no duplicate group in two."""
    dealt = _deal(items, (1 / k,) * k, tuple(str(f) for f in range(k)), seed)
    return {path: int(fold) for path, fold in dealt.items()}


def _deal(
    items: Iterable[Item], fractions: tuple[float, ...], names: tuple[str, ...], seed: int
) -> dict[str, str]:
    groups: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        groups[item.group].append(item)
    by_label: dict[str, list[list[Item]]] = defaultdict(list)
    for members in groups.values():
        majority = max({m.label for m in members}, key=[m.label for m in members].count)
        by_label[majority].append(sorted(members, key=lambda m: m.path))
    rng = random.Random(seed)
    out: dict[str, str] = {}
    for label in sorted(by_label):
        label_groups = sorted(by_label[label], key=lambda g: g[0].path)
        rng.shuffle(label_groups)
        label_groups.sort(key=len, reverse=True)  # stable: equal sizes keep the shuffled order
        total = sum(len(g) for g in label_groups)
        filled = dict.fromkeys(names, 0)
        for group in label_groups:
            target = max(names, key=lambda n: fractions[names.index(n)] * total - filled[n])
            filled[target] += len(group)
            for member in group:
                out[member.path] = target
    return out
