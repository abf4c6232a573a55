"""How a run's headline figures moved against the previous run on the same data folder.

The loop is: train, review what the model gets wrong, fix labels, train again. This is
the figure that says whether the second round helped. Test sets of two runs differ when
the data changed (another export), so the comparison says whether they are the same.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from trainer.run import data_dir_of

HEADLINE = ("accuracy", "balanced_accuracy", "roc_auc")


@dataclass
class Comparison:
    previous: str
    same_data: bool  # same data fingerprint, so the same split and test set
    delta: dict[str, float]  # on the test split, this run minus the previous one


def previous_run(run: Path, config: dict) -> Path | None:
    """The newest other run beside `run` trained on the same data folder."""
    found = []
    here = data_dir_of(run, config)
    for other in run.parent.iterdir():
        cfg_path = other / "config.json"
        hidden = other.name.startswith(".")  # a run being written, or being replaced
        if hidden or other.is_symlink() or other.resolve() == run.resolve() or not cfg_path.is_file():
            continue
        try:
            cfg = json.loads(cfg_path.read_text())
        except (OSError, ValueError):
            continue
        if data_dir_of(other, cfg) == here and (other / "metrics.json").is_file():
            found.append((cfg.get("created", ""), other))
    return max(found)[1] if found else None


def compare(run: Path, config: dict, results: dict[str, dict]) -> Comparison | None:
    previous = previous_run(run, config)
    if previous is None:
        return None
    before = json.loads((previous / "metrics.json").read_text()).get("test", {})
    old_config = json.loads((previous / "config.json").read_text())
    same = old_config.get("data_fingerprint") == config["data_fingerprint"]
    return Comparison(str(previous), same, delta(results["test"], before))


def delta(mine: dict, theirs: dict) -> dict[str, float]:
    """The headline figures, mine minus theirs, where both have them."""
    return {
        key: round(mine[key] - theirs[key], 4)
        for key in HEADLINE
        if isinstance(mine.get(key), float) and isinstance(theirs.get(key), float)
    }
