"""Does fine-tuning on your own scrape help on photos nobody trained on? Both directions, one run.

Each scrape (`seed-scrape`, `other-scrape`: the same two queries, scraped by different people)
is curated the README's way (`curate import/scan/dedupe/faces`, `export --faces`). Models are
fine-tuned on one scrape's face crops and score the *other* scrape's pictures as `evaluate RUN
DIR --faces` does (faces found once per scrape, every model reads the same faces). Rows:

- the prior alone (no scrape data);
- the previous default: `plain` fine-tuning with the threshold at the validation split's optimum;
- every recipe in `trainer.finetune.RECIPES` (the threshold rule of `metrics.decision_threshold`);
- the prior's and the `plain` fine-tune's probabilities averaged (an ensemble of the two);
- the `fer` package (its own FER2013 model and Haar faces), with `--fer-python`.

Then the threshold table: the prior's scores on each scrape, a threshold picked as the optimum
of a validation sample of n pictures per label, scored on the rest, against the prior's own
threshold (what `metrics.MOVE_THRESHOLD_AT` rests on).

    python bench/cross_scrape.py [--epochs 30] [--recipes plain,wise-ft,...] [--fer-python P] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sklearn import metrics as skm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import machine
from bench.train_benchmark import SHARED, curate
from happysad.common.tf_runtime import quiet_tensorflow
from happysad.faces.batch import detect_files
from happysad.faces.detectors import from_setting
from trainer import finetune
from trainer import metrics as tm
from trainer.config import TrainConfig
from trainer.face_scoring import DEFAULTS, classify, evaluate_found, image_score
from trainer.predict import labelled, truth_of
from trainer.run import PRIOR_DIR, open_run
from trainer.train import train

ROOT = Path(__file__).resolve().parents[1]
console = Console(width=200, stderr=True)
SCRAPES = {"seed": SHARED / "seed-scrape", "other": SHARED / "other-scrape"}


def _row(model: str, direction: str, result: dict, seconds: float, note: str = "") -> dict:
    return {"model": model, "direction": direction, "n": result.get("n", 0),
            "balanced_accuracy": result.get("balanced_accuracy"), "roc_auc": result.get("roc_auc"),
            "accuracy": result.get("accuracy"), "coverage": result["coverage"], "train_s": seconds,
            "note": note}  # fmt: skip


def _scored(run, items, found) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Truth, P(label 1) and path of every picture with a face."""
    results = classify(run, found)
    kept = [(i, r) for i, r in zip(items, results, strict=True) if r.label is not None]
    return (
        truth_of(run, [i for i, _ in kept]),
        np.array([image_score(r, run) for _, r in kept]),
        [i.path for i, _ in kept],
    )


def _summary(truth: np.ndarray, scores: np.ndarray, threshold: float, images: int, labels) -> dict:
    out = tm.summarise(truth, scores, threshold, labels)
    out["coverage"] = len(truth) / images
    return out


def threshold_table(prior, scored: dict, sizes: list[int], draws: int, seed: int) -> list[dict]:
    """Balanced accuracy on held-out pictures: the optimum of n-per-label validation vs the prior's."""
    rng = np.random.default_rng(seed)
    rows = []
    for name, (y, s) in scored.items():
        for n in sizes:
            picked, kept = [], []
            if min((y == 0).sum(), (y == 1).sum()) <= n:  # too few pictures to leave any to score
                continue
            for _ in range(draws):
                val = np.concatenate([rng.choice(np.flatnonzero(y == c), n, replace=False) for c in (0, 1)])
                rest = np.setdiff1d(np.arange(len(y)), val)
                t = tm.choose_threshold(y[val], s[val])
                picked.append(skm.balanced_accuracy_score(y[rest], s[rest] >= t))
                kept.append(skm.balanced_accuracy_score(y[rest], s[rest] >= prior.config["threshold"]))
            if picked:
                rows.append({"scrape": name, "per_label": n, "optimum": float(np.mean(picked)),
                             "prior_threshold": float(np.mean(kept)),
                             "optimum_worse_share": float(np.mean(np.array(picked) < np.array(kept)))})  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--recipes", default=",".join(finetune.RECIPES))
    fer_python = ROOT / ".venv-fer" / "bin" / "python"
    parser.add_argument("--fer-python", type=Path, default=fer_python if fer_python.exists() else None)
    parser.add_argument("--keep", type=Path, help="keep workspaces and runs here")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    quiet_tensorflow()
    prior = open_run(PRIOR_DIR)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp_name, Progress(console=console) as progress:
        tmp = args.keep or Path(tmp_name)
        crops, items, found = {}, {}, {}
        prep = progress.add_task("curate + find faces", total=2 * len(SCRAPES))
        for name, source in SCRAPES.items():
            env = {**os.environ, "FIFTYONE_DATABASE_DIR": str(tmp / "db"), "FIFTYONE_DO_NOT_TRACK": "true"}
            crops[name] = tmp / name / "ws" / "curated-faces"
            if not (crops[name] / "manifest.csv").is_file():  # a kept workspace is reused
                curate(tmp / name, source, [["faces"], ["export", "--faces"]], env)
            progress.advance(prep)
            items[name], _ = labelled(prior, source)
            detector = from_setting(DEFAULTS["detector"])
            found[name] = list(detect_files(detector, [Path(i.path) for i in items[name]], 2))
            progress.advance(prep)
        subprocess.run(["pkill", "-f", f"mongod.*{tmp / 'db'}"], check=False)

        recipes = args.recipes.split(",")
        task = progress.add_task("fine-tunes", total=len(SCRAPES) * (len(recipes) + 1))
        prior_scored = {}
        for train_on, score_on in (("seed", "other"), ("other", "seed")):
            direction = f"{train_on} → {score_on}"
            y, p_prior, paths = _scored(prior, items[score_on], found[score_on])
            prior_scored[score_on] = (y, p_prior)
            rows.append(_row("prior alone (FER2013 only)", direction,
                             evaluate_found(prior, items[score_on], found[score_on]), 0.0))  # fmt: skip
            runs = {}
            for name in ["previous default", *recipes]:
                cfg = TrainConfig(crops[train_on], tmp / "runs" / f"{train_on}-{name}", epochs=args.epochs,
                                  seed=args.seed, fine_tune="plain" if name == "previous default" else name)  # fmt: skip
                timing = cfg.out / "bench-seconds.txt"
                if not timing.is_file():  # a kept run is reused
                    saved = tm.MOVE_THRESHOLD_AT
                    tm.MOVE_THRESHOLD_AT = (
                        0 if name == "previous default" else saved
                    )  # the old rule: the optimum
                    try:
                        started = time.monotonic()
                        train(cfg)
                        timing.write_text(f"{time.monotonic() - started:.1f}")
                    finally:
                        tm.MOVE_THRESHOLD_AT = saved
                seconds = float(timing.read_text())
                runs[name] = run = open_run(cfg.out)
                note = f"threshold {run.config['threshold']:.2f} ({run.config['threshold_from']})"
                label = name if name == "previous default" else f"fine-tune: {name}"
                rows.append(_row(label, direction, evaluate_found(run, items[score_on], found[score_on]),
                                 seconds, note))  # fmt: skip
                progress.advance(task)
            if "plain" in runs:
                _y2, p_plain, paths2 = _scored(runs["plain"], items[score_on], found[score_on])
                assert paths2 == paths
                mean = (p_prior + p_plain) / 2
                images = len(items[score_on])
                rows.append(_row("prior and plain fine-tune, probabilities averaged", direction,
                                 _summary(y, mean, prior.config["threshold"], images, prior.labels),
                                 rows[-len(runs)]["train_s"], "prior's threshold"))  # fmt: skip
            if args.fer_python:
                started = time.monotonic()
                done = subprocess.run([str(args.fer_python), str(ROOT / "bench" / "fer_peer.py")],
                                      input="\n".join(i.path for i in items[score_on]), capture_output=True,
                                      text=True, check=True)  # fmt: skip
                fer = {p: s for p, s in json.loads(done.stdout).items() if s is not None}
                truth = truth_of(prior, items[score_on])
                kept = [
                    (t, fer[i.path]) for t, i in zip(truth, items[score_on], strict=True) if i.path in fer
                ]
                yt, st = np.array([t for t, _ in kept]), np.array([s for _, s in kept])
                rows.append(_row("`fer` package (its model + Haar faces)", direction,
                                 _summary(yt, st, 0.5, len(items[score_on]), prior.labels), 0.0,
                                 f"{time.monotonic() - started:.0f} s to read"))  # fmt: skip
        thresholds = threshold_table(prior, prior_scored, [10, 25, 50, 100], 200, args.seed)
    if args.json:
        print(json.dumps({"rows": rows, "thresholds": thresholds}))
        return
    out = Console(width=200)
    table = Table(caption=machine.line(training=True), title="cross-scrape: fine-tuned on one scrape's face crops, scored on the other's pictures "
                  "(evaluate --faces)")  # fmt: skip
    for column in ("model", "seed → other bal. acc", "AUC", "other → seed bal. acc", "AUC", "mean bal. acc",
                   "vs prior", "coverage", "train s", "note"):  # fmt: skip
        table.add_column(column)
    by_model: dict[str, dict[str, dict]] = {}
    for r in rows:
        by_model.setdefault(r["model"], {})[r["direction"]] = r
    prior_mean = np.mean([r["balanced_accuracy"] for r in by_model["prior alone (FER2013 only)"].values()])
    for model, both in by_model.items():
        a, b = both.get("seed → other", {}), both.get("other → seed", {})
        mean = np.mean([r["balanced_accuracy"] for r in (a, b) if r])
        table.add_row(model, *(f"{r.get(k) or 0:.3f}" for r in (a, b) for k in ("balanced_accuracy", "roc_auc")),
                      f"{mean:.3f}", f"{mean - prior_mean:+.3f}",
                      " / ".join(f"{r['coverage']:.2f}" for r in (a, b) if r),
                      f"{sum(r['train_s'] for r in (a, b) if r):.0f}",
                      " / ".join(r["note"] for r in (a, b) if r and r["note"]))  # fmt: skip
    out.print(table)
    table = Table(title="threshold: a validation sample's optimum vs the prior's threshold, on the rest "
                  "(prior's scores, 200 draws)")  # fmt: skip
    for column in ("scrape", "validation per label", "optimum: bal. acc", "prior's: bal. acc",
                   "optimum worse in"):  # fmt: skip
        table.add_column(column)
    for r in thresholds:
        table.add_row(r["scrape"], str(r["per_label"]), f"{r['optimum']:.3f}", f"{r['prior_threshold']:.3f}",
                      f"{r['optimum_worse_share']:.0%}")  # fmt: skip
    out.print(table)


if __name__ == "__main__":
    main()
