"""The README's first loop against the whole frame, both ways: `train` with its defaults (the face
path: the prior kept) and `train --whole-frame` on one scrape's pictures, each scored on the
*other* scrape's pictures: every picture, the pictures MTCNN finds a face in, and the others.
Beside them the prior alone. Every figure with its n and 95% interval.

    python bench/whole_frame.py [--epochs 30] [--keep DIR] [--json]

The scrapes are hard-linked into a temporary folder first, so the face exports `train` writes
beside its pictures never land in ../shared.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import machine
from bench.train_benchmark import SHARED
from happysad.common.tf_runtime import quiet_tensorflow
from happysad.faces.batch import detect_files
from trainer import metrics
from trainer.config import TrainConfig
from trainer.face_scoring import DEFAULTS, evaluate_found
from trainer.predict import labelled, predict, truth_of
from trainer.run import PRIOR_DIR, open_run
from trainer.train import train

SCRAPES = {"seed": SHARED / "seed-scrape", "other": SHARED / "other-scrape"}
console = Console(width=200, stderr=True)


def _linked(source: Path, target: Path) -> Path:
    """A hard-linked copy of a scrape's <label>/<file> tree (no bytes copied)."""
    for path in source.rglob("*"):
        if path.is_file():
            (target / path.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
            if not (target / path.relative_to(source)).exists():
                os.link(path, target / path.relative_to(source))
    return target


def _figures(run, items, keep: list[bool]) -> dict:
    """A whole-frame run's figures on the chosen pictures."""
    chosen = [i for i, k in zip(items, keep, strict=True) if k]
    answers = predict(run, [i.path for i in chosen])
    scores = np.array([a.scores[run.labels[1]] for a in answers])
    out = metrics.summarise(truth_of(run, chosen), scores, run.config.threshold, run.labels)
    return out | {"coverage": len(chosen) / len(items)}


def _trained(cfg: TrainConfig) -> tuple[object, float]:
    """The run (trained once; a kept one is reused) and its training seconds."""
    timing = cfg.out / "bench-seconds.txt"
    if not timing.is_file():
        started = time.monotonic()
        train(cfg)
        timing.write_text(f"{time.monotonic() - started:.1f}")
    return open_run(cfg.out), float(timing.read_text())


def rows_for(tmp: Path, epochs: int, seed: int) -> list[dict]:
    prior = open_run(PRIOR_DIR)
    detector = DEFAULTS.make_detector()
    rows = []
    for train_on, score_on in (("seed", "other"), ("other", "seed")):
        direction = f"{train_on} → {score_on}"
        pictures = _linked(SCRAPES[train_on], tmp / "scrapes" / train_on)
        items, _ = labelled(prior, SCRAPES[score_on])
        found = list(detect_files(detector, [Path(i.path) for i in items]))
        face = [bool(f.faces) for f in found]
        rows.append(
            {
                "model": "prior alone",
                "direction": direction,
                "pictures": "with a face",
                **evaluate_found(prior, items, found),
                "train_s": 0.0,
            }
        )
        default, seconds = _trained(
            TrainConfig(pictures, tmp / "runs" / f"{train_on}-default", seed=seed, epochs=epochs)
        )
        rows.append(
            {
                "model": "train (the default: faces)",
                "direction": direction,
                "pictures": "with a face",
                **evaluate_found(default, items, found),
                "train_s": seconds,
            }
        )
        whole, seconds = _trained(
            TrainConfig(
                pictures, tmp / "runs" / f"{train_on}-whole", seed=seed, epochs=epochs, whole_frame=True
            )
        )
        for subset, keep in (
            ("every picture", [True] * len(items)),
            ("with a face", face),
            ("without a face", [not f for f in face]),
        ):
            rows.append(
                {
                    "model": "train --whole-frame",
                    "direction": direction,
                    "pictures": subset,
                    **_figures(whole, items, keep),
                    "train_s": seconds,
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="keep the linked scrapes and the runs here")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    quiet_tensorflow()
    with tempfile.TemporaryDirectory() as tmp_name:
        rows = rows_for(args.keep or Path(tmp_name), args.epochs, args.seed)
    if args.json:
        print(json.dumps(rows))
        return
    table = Table(
        title="the README's first loop vs the whole frame, scored on the other scrape",
        caption=machine.line(training=True) + f"; --epochs {args.epochs}",
    )
    for column in (
        "model",
        "direction",
        "pictures",
        "n",
        "scored",
        "bal. acc [95%]",
        "ROC-AUC [95%]",
        "train s",
    ):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["model"],
            r["direction"],
            r["pictures"],
            str(r["n"]),
            f"{r['coverage']:.0%}",
            metrics.shown(r, "balanced_accuracy"),
            metrics.shown(r, "roc_auc"),
            f"{r['train_s']:.0f}",
        )
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
