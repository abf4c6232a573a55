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
from dataclasses import dataclass, field
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
    return {
        "model": model,
        "direction": direction,
        "n": result.get("n", 0),
        "balanced_accuracy": result.get("balanced_accuracy"),
        "roc_auc": result.get("roc_auc"),
        "accuracy": result.get("accuracy"),
        "coverage": result["coverage"],
        "train_s": seconds,
        "note": note,
    }


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
                kept.append(skm.balanced_accuracy_score(y[rest], s[rest] >= prior.config.threshold))
            if picked:
                rows.append(
                    {
                        "scrape": name,
                        "per_label": n,
                        "optimum": float(np.mean(picked)),
                        "prior_threshold": float(np.mean(kept)),
                        "optimum_worse_share": float(np.mean(np.array(picked) < np.array(kept))),
                    }
                )
    return rows


@dataclass
class Scrapes:
    """Each scrape's face export, labelled pictures and the faces found in them (found once)."""

    crops: dict[str, Path] = field(default_factory=dict)
    items: dict[str, list] = field(default_factory=dict)
    found: dict[str, list] = field(default_factory=dict)


def _arguments() -> argparse.Namespace:
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
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    quiet_tensorflow()
    prior = open_run(PRIOR_DIR)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp_name, Progress(console=console) as progress:
        tmp = args.keep or Path(tmp_name)
        scrapes = _prepare(tmp, prior, progress)
        recipes = args.recipes.split(",")
        task = progress.add_task("fine-tunes", total=len(SCRAPES) * (len(recipes) + 1))
        prior_scored = {}
        for train_on, score_on in (("seed", "other"), ("other", "seed")):
            direction = f"{train_on} → {score_on}"
            items, found = scrapes.items[score_on], scrapes.found[score_on]
            y, p_prior, paths = _scored(prior, items, found)
            prior_scored[score_on] = (y, p_prior)
            rows.append(
                _row("prior alone (FER2013 only)", direction, evaluate_found(prior, items, found), 0.0)
            )
            runs = {}
            for name in ["previous default", *recipes]:
                runs[name], row = _fine_tuned(args, tmp / "runs", scrapes, train_on, score_on, name)
                rows.append(row)
                progress.advance(task)
            if "plain" in runs:
                _y2, p_plain, paths2 = _scored(runs["plain"], items, found)
                assert paths2 == paths
                averaged = _summary(
                    y, (p_prior + p_plain) / 2, prior.config.threshold, len(items), prior.labels
                )
                model = "prior and plain fine-tune, probabilities averaged"
                rows.append(
                    _row(model, direction, averaged, rows[-len(runs)]["train_s"], "prior's threshold")
                )
            if args.fer_python:
                rows.append(_fer_row(args.fer_python, prior, items, direction))
        thresholds = threshold_table(prior, prior_scored, [10, 25, 50, 100], 200, args.seed)
    if args.json:
        print(json.dumps({"rows": rows, "thresholds": thresholds}))
        return
    out = Console(width=200)
    out.print(_models_table(rows))
    out.print(_thresholds_table(thresholds))


def _prepare(tmp: Path, prior, progress: Progress) -> Scrapes:
    """Each scrape curated the README's way (a kept workspace is reused), and its faces found."""
    scrapes = Scrapes()
    prep = progress.add_task("curate + find faces", total=2 * len(SCRAPES))
    for name, source in SCRAPES.items():
        env = {**os.environ, "FIFTYONE_DATABASE_DIR": str(tmp / "db"), "FIFTYONE_DO_NOT_TRACK": "true"}
        scrapes.crops[name] = tmp / name / "ws" / "curated-faces"
        if not (scrapes.crops[name] / "manifest.csv").is_file():
            curate(tmp / name, source, [["faces"], ["export", "--faces"]], env)
        progress.advance(prep)
        scrapes.items[name], _ = labelled(prior, source)
        detector = DEFAULTS.make_detector()
        scrapes.found[name] = list(detect_files(detector, [Path(i.path) for i in scrapes.items[name]], 2))
        progress.advance(prep)
    subprocess.run(["pkill", "-f", f"mongod.*{tmp / 'db'}"], check=False)
    return scrapes


def _fine_tuned(args, runs: Path, scrapes: Scrapes, train_on: str, score_on: str, name: str):
    """One recipe fine-tuned on `train_on`'s crops (a kept run is reused), and its row on `score_on`.
    "previous default" is `plain` with the old threshold rule: the validation split's optimum."""
    cfg = TrainConfig(
        scrapes.crops[train_on],
        runs / f"{train_on}-{name}",
        epochs=args.epochs,
        seed=args.seed,
        fine_tune="plain" if name == "previous default" else name,
    )
    timing = cfg.out / "bench-seconds.txt"
    if not timing.is_file():
        saved = tm.MOVE_THRESHOLD_AT
        tm.MOVE_THRESHOLD_AT = 0 if name == "previous default" else saved
        try:
            started = time.monotonic()
            train(cfg)
            timing.write_text(f"{time.monotonic() - started:.1f}")
        finally:
            tm.MOVE_THRESHOLD_AT = saved
    run = open_run(cfg.out)
    note = f"threshold {run.config.threshold:.2f} ({run.config.threshold_from})"
    label = name if name == "previous default" else f"fine-tune: {name}"
    result = evaluate_found(run, scrapes.items[score_on], scrapes.found[score_on])
    return run, _row(label, f"{train_on} → {score_on}", result, float(timing.read_text()), note)


def _fer_row(fer_python: Path, prior, items: list, direction: str) -> dict:
    """The `fer` package on the same pictures, in its own venv (bench/fer_peer.py)."""
    started = time.monotonic()
    done = subprocess.run(
        [str(fer_python), str(ROOT / "bench" / "fer_peer.py")],
        input="\n".join(i.path for i in items),
        capture_output=True,
        text=True,
        check=True,
    )
    fer = {p: s for p, s in json.loads(done.stdout).items() if s is not None}
    truth = truth_of(prior, items)
    kept = [(t, fer[i.path]) for t, i in zip(truth, items, strict=True) if i.path in fer]
    yt, st = np.array([t for t, _ in kept]), np.array([s for _, s in kept])
    summary = _summary(yt, st, 0.5, len(items), prior.labels)
    note = f"{time.monotonic() - started:.0f} s to read"
    return _row("`fer` package (its model + Haar faces)", direction, summary, 0.0, note)


def _models_table(rows: list[dict]) -> Table:
    table = Table(
        caption=machine.line(training=True),
        title="cross-scrape: fine-tuned on one scrape's face crops, scored on the other's pictures "
        "(evaluate --faces)",
    )
    columns = "model|seed → other bal. acc|AUC|other → seed bal. acc|AUC|mean bal. acc|vs prior|coverage"
    for column in [*columns.split("|"), "train s", "note"]:
        table.add_column(column)
    by_model: dict[str, dict[str, dict]] = {}
    for r in rows:
        by_model.setdefault(r["model"], {})[r["direction"]] = r
    prior_mean = np.mean([r["balanced_accuracy"] for r in by_model["prior alone (FER2013 only)"].values()])
    for model, both in by_model.items():
        a, b = both.get("seed → other", {}), both.get("other → seed", {})
        mean = np.mean([r["balanced_accuracy"] for r in (a, b) if r])
        table.add_row(
            model,
            *(f"{r.get(k) or 0:.3f}" for r in (a, b) for k in ("balanced_accuracy", "roc_auc")),
            f"{mean:.3f}",
            f"{mean - prior_mean:+.3f}",
            " / ".join(f"{r['coverage']:.2f}" for r in (a, b) if r),
            f"{sum(r['train_s'] for r in (a, b) if r):.0f}",
            " / ".join(r["note"] for r in (a, b) if r and r["note"]),
        )
    return table


def _thresholds_table(thresholds: list[dict]) -> Table:
    table = Table(
        title="threshold: a validation sample's optimum vs the prior's threshold, on the rest "
        "(prior's scores, 200 draws)"
    )
    for column in (
        "scrape",
        "validation per label",
        "optimum: bal. acc",
        "prior's: bal. acc",
        "optimum worse in",
    ):
        table.add_column(column)
    for r in thresholds:
        table.add_row(
            r["scrape"],
            str(r["per_label"]),
            f"{r['optimum']:.3f}",
            f"{r['prior_threshold']:.3f}",
            f"{r['optimum_worse_share']:.0%}",
        )
    return table


if __name__ == "__main__":
    main()
