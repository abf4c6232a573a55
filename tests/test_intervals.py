"""Every test figure carries its n and a 95% interval; a small test set says it is small; a move
inside the noise says so."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

from trainer import compare, metrics


def _scored(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    return y, np.clip(0.35 * y + 0.65 * rng.random(n), 0, 1)


def test_wilson_matches_the_formula():
    # 81 of 263: 0.2553 to 0.3662 by Wilson's formula, (p + z²/2n ± z√(p(1-p)/n + z²/4n²)) / (1 + z²/n)
    assert metrics.wilson(81, 263) == pytest.approx([0.2553, 0.3662], abs=1e-4)
    assert metrics.wilson(10, 10)[1] == 1.0 and metrics.wilson(10, 10)[0] < 0.75  # never [1, 1]
    assert metrics.wilson(0, 0) is None


def test_the_resampled_statistics_agree_with_sklearn_row_by_row():
    rng = np.random.default_rng(3)
    y, s = _scored(60)
    rows = np.stack([rng.permutation(60)[:45] for _ in range(20)])
    ys, ss, ps = y[rows], s[rows], (s[rows] >= 0.5).astype(int)
    assert metrics._roc_auc(ys, ss) == pytest.approx(
        [sk.roc_auc_score(a, b) for a, b in zip(ys, ss, strict=True)]
    )
    balanced = [sk.balanced_accuracy_score(a, b) for a, b in zip(ys, ps, strict=True)]
    assert metrics._balanced_accuracy(ys, ps) == pytest.approx(balanced)


def test_each_figure_has_an_interval_around_it_that_narrows_with_n():
    widths = {}
    for n in (40, 400):
        y, s = _scored(n)
        figures = metrics.summarise(y, s, 0.5, ["happy", "sad"])
        assert figures["n"] == n
        for key in ("accuracy", "balanced_accuracy", "precision", "recall", "roc_auc"):
            low, high = figures[key + metrics.CI]
            assert low <= figures[key] <= high, key
        widths[n] = np.diff(figures["roc_auc" + metrics.CI])[0]
    assert widths[400] < widths[40] / 2  # about 1/sqrt(n)


def test_below_100_pictures_a_plain_warning_points_at_another_scrape():
    y, s = _scored(99)
    assert "evaluate RUN OTHER_DIR" in metrics.summarise(y, s, 0.5, ["happy", "sad"])["warning"]
    y, s = _scored(100)
    assert "warning" not in metrics.summarise(y, s, 0.5, ["happy", "sad"])


def test_one_label_only_leaves_the_undefined_intervals_out():
    figures = metrics.summarise(np.ones(8, int), np.linspace(0, 1, 8), 0.5, ["happy", "sad"])
    assert figures["roc_auc_ci95"] is None and figures["balanced_accuracy_ci95"] is None
    assert figures["accuracy_ci95"] is not None


def test_a_move_inside_this_runs_interval_is_called_noise():
    y, s = _scored(60)
    mine = metrics.summarise(y, s, 0.5, ["happy", "sad"])
    high = mine["accuracy_ci95"][1]
    near = {"accuracy": (mine["accuracy"] + high) / 2, "roc_auc": mine["roc_auc_ci95"][0] - 0.01}
    assert compare.within_noise(mine, near) == ["accuracy"]
    assert compare.moves(compare.delta(mine, near), ["accuracy"]).count("(inside the noise)") == 1
