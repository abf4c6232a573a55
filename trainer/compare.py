"""How a run's headline figures moved against the previous run on the same data folder.

The loop is: train, review what the model gets wrong, fix labels, train again. This is
the figure that says whether the second round helped. Test sets of two runs differ when
the data changed (another export), so the comparison says whether they are the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from happysad.common.errors import HappysadError
from trainer.metrics import CI
from trainer.record import CONFIG, Metrics, RunConfig, data_dir_of

HEADLINE = ("accuracy", "balanced_accuracy", "roc_auc")


@dataclass
class Comparison:
    previous: str
    same_data: bool  # same data fingerprint, so the same split and test set
    delta: dict[str, float]  # on the test split, this run minus the previous one
    within_noise: list[str]  # the figures whose move lies inside this run's 95% interval


def previous_run(run: Path, config: RunConfig) -> tuple[Path, RunConfig, dict] | None:
    """The newest other run beside `run` trained on the same data folder: its folder, settings
    and test figures. A folder beside it is untrusted input: one whose settings or figures
    cannot be read is passed over."""
    found = []
    here = data_dir_of(run, config)
    for other in run.parent.iterdir():
        hidden = other.name.startswith(".")  # a run being written, or being replaced
        if hidden or other.is_symlink() or other.resolve() == run.resolve() or not other.is_dir():
            continue
        try:
            settings, figures = RunConfig.read(other / CONFIG), Metrics.read(other).test
        except HappysadError:
            continue
        if figures is not None and data_dir_of(other, settings) == here:
            found.append((settings.created, str(other), settings, figures))
    if not found:
        return None
    _, path, settings, figures = max(found, key=lambda f: f[:2])
    return Path(path), settings, figures


def compare(run: Path, config: RunConfig, results: dict[str, dict]) -> Comparison | None:
    previous = previous_run(run, config)
    if previous is None:
        return None
    path, settings, figures = previous
    same = settings.data_fingerprint == config.data_fingerprint
    return Comparison(
        str(path), same, delta(results["test"], figures), within_noise(results["test"], figures)
    )


def delta(mine: dict, theirs: dict) -> dict[str, float]:
    """The headline figures, mine minus theirs, where both have them."""
    return {
        key: round(mine[key] - theirs[key], 4)
        for key in HEADLINE
        if isinstance(mine.get(key), float) and isinstance(theirs.get(key), float)
    }


def within_noise(mine: dict, theirs: dict) -> list[str]:
    """The headline figures where `theirs` lies inside my 95% interval: a move the test set's
    own sampling noise could make, so it does not say which model is better."""
    return [
        key
        for key in delta(mine, theirs)
        if isinstance(mine.get(key + CI), list) and mine[key + CI][0] <= theirs[key] <= mine[key + CI][1]
    ]


def moves(delta: dict[str, float], quiet: list[str]) -> str:
    """'accuracy +0.012 (inside the noise), roc auc +0.080' for a summary line."""
    return ", ".join(
        f"{k.replace('_', ' ')} {v:+.3f}" + (" (inside the noise)" if k in quiet else "")
        for k, v in delta.items()
    )
