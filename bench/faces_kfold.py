"""Reading the expression on web photos no model in the comparison trained on, side by side.

1. The seed scrape, group K-fold: the curated pictures are dealt into K folds by duplicate
   group; for each fold, models are trained on the other folds and score this one, so every
   picture is scored once (n ≈ 175 pictures with a face instead of one 32-picture split).
   Rows, all scored on the same pictures (those our face detector finds a face in):
     - the default architecture on whole frames;
     - the shipped prior alone (FER2013 only, no scrape data);
     - fine-tuned from the prior on the folds' face crops, labels kept (`--keep-labels`);
     - the same with label cleaning (`--clean-labels`: the prior's evidence, judged per picture, cleanlab);
     - the `fer` package (its own FER2013 model and Haar faces), in .venv-fer, on the
       pictures it finds a face in too.
2. Label-error recall at K on FER2013 validation with 10% of the labels flipped (K = the
   number flipped): a model trained on the flipped set ranking its own images (in sample)
   versus cleanlab on the prior's probabilities and on out-of-fold probabilities from K
   folds fine-tuned from the prior (`train --init prior --cross-fit K`).

3. The same flipped set through the README's loop (`--only loop`): `curate import/dedupe/
   export`, `train --init prior --cross-fit K` (timed: the cross-fit's cost), `curate review
   --predictions RUN --top K`, recall among the suspects review lists.

    python bench/faces_kfold.py [--folds 5] [--epochs 30] [--fer-python .venv-fer/bin/python] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sklearn import metrics as skm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import machine
from bench.label_recall import flipped_recall, link, loop_recall
from bench.train_benchmark import SHARED, curate
from happysad.common import tables
from happysad.common.tf_runtime import quiet_tensorflow
from happysad.faces.batch import detect_files
from trainer import splits
from trainer.config import TrainConfig
from trainer.data import Item
from trainer.face_scoring import DEFAULTS, classify
from trainer.predict import predict
from trainer.run import PRIOR_DIR, open_run
from trainer.train import train

ROOT = Path(__file__).resolve().parents[1]
console = Console(width=180, stderr=True)


def _tree(dst: Path, rows: list[tables.Exported], root: Path, faces_json: Path | None = None) -> Path:
    """A labelled tree of hard links with its own manifest.csv (and faces.json for crops)."""
    for r in rows:
        link(root / r.path, dst / r.path)
    if faces_json is not None:
        shutil.copy(faces_json, dst / "faces.json")
    tables.write_manifest(dst, rows, faces=faces_json is not None)
    return dst


def _row(
    name: str,
    truth: dict[str, int],
    prob: dict[str, float],
    label: dict[str, int],
    seconds: float,
    note: str = "",
) -> dict:
    paths = [p for p in truth if p in prob]
    y, s, yhat = (np.array([d[p] for p in paths]) for d in (truth, prob, label))
    return {
        "model": name,
        "n": len(paths),
        "accuracy": float(skm.accuracy_score(y, yhat)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(y, yhat)),
        "roc_auc": float(skm.roc_auc_score(y, s)),
        "train_s": seconds,
        "note": note,
    }


@dataclass
class Scrape:
    """The seed scrape curated, its pictures dealt into folds by duplicate group, and the
    faces found in them (once: every face model reads the same faces)."""

    curated: Path
    crops: Path
    pictures: list[tables.Exported]
    crop_rows: list[tables.Exported]
    items: list[Item]
    fold_of: dict[str, int]
    found: list


NAMES = (
    "default, whole frame",
    "fine-tuned from the prior, labels kept",
    "fine-tuned from the prior, labels cleaned",
)


def scrape_kfold(args, tmp: Path, progress: Progress) -> tuple[list[dict], dict]:
    scrape = _curated(args, tmp)
    labels = sorted({r.label for r in scrape.pictures})
    prior = open_run(PRIOR_DIR)
    prior_pred = classify(prior, scrape.found)
    with_face = {p.path for p in prior_pred if p.label is not None}
    facts = {"pictures": len(scrape.items), "with_a_face": len(with_face), "folds": args.folds}
    truth = {i.path: labels.index(i.label) for i in scrape.items if i.path in with_face}
    prob: dict[str, dict[str, float]] = {n: {} for n in NAMES}
    label: dict[str, dict[str, int]] = {n: {} for n in NAMES}
    seconds = dict.fromkeys(NAMES, 0.0)
    left_out = 0
    task = progress.add_task("seed-scrape folds", total=args.folds * 3)
    for fold in range(args.folds):
        held = [f for f in scrape.found if str(f.path) in truth and scrape.fold_of[str(f.path)] == fold]
        for name, cfg in _fold_runs(args, scrape, fold, tmp / f"fold{fold}").items():
            result = train(cfg)
            seconds[name] += result.seconds
            left_out += result.label_issues if name == NAMES[2] else 0
            run = open_run(Path(result.run))
            preds = predict(run, [str(f.path) for f in held]) if name == NAMES[0] else classify(run, held)
            for p in preds:
                if p.label is not None:
                    prob[name][p.path] = p.scores[run.labels[1]]
                    label[name][p.path] = run.labels.index(p.label)
            progress.advance(task)
    facts["label_issues_left_out_per_fold"] = left_out / args.folds
    rows = [_row(NAMES[0], truth, prob[NAMES[0]], label[NAMES[0]], seconds[NAMES[0]])]
    prior_prob = {p.path: p.scores[prior.labels[1]] for p in prior_pred if p.label is not None}
    prior_label = {p.path: prior.labels.index(p.label) for p in prior_pred if p.label is not None}
    rows.append(_row("prior alone (FER2013 only)", truth, prior_prob, prior_label, 0.0))
    rows += [_row(n, truth, prob[n], label[n], seconds[n]) for n in NAMES[1:]]
    if args.fer_python:
        rows.append(_fer_row(args.fer_python, truth))
    return rows, facts


def _curated(args, tmp: Path) -> Scrape:
    """The scrape through `curate` (pictures and face crops exported), dealt into folds."""
    env = {**os.environ, "FIFTYONE_DATABASE_DIR": str(tmp / "db"), "FIFTYONE_DO_NOT_TRACK": "true"}
    try:
        ws = curate(tmp, args.scrape, [["faces"], ["export"], ["export", "--faces"]], env)
    finally:
        subprocess.run(["pkill", "-f", f"mongod.*{tmp / 'db'}"], check=False)
    curated, crops = ws / "curated", ws / "curated-faces"
    pictures, crop_rows = tables.read_manifest(curated) or [], tables.read_manifest(crops) or []
    items = [Item(str((curated / r.path).resolve()), r.label, r.group_id) for r in pictures]
    found = list(detect_files(DEFAULTS.make_detector(), [Path(i.path) for i in items], 2))
    return Scrape(
        curated, crops, pictures, crop_rows, items, splits.folds(items, args.folds, args.seed), found
    )


def _fold_runs(args, scrape: Scrape, fold: int, base: Path) -> dict[str, TrainConfig]:
    """The three models of one fold, trained on the other folds' pictures or crops."""
    group_fold = {i.group: scrape.fold_of[i.path] for i in scrape.items}
    parts = {}
    for part, mine in (
        ("train", lambda g: group_fold.get(g) != fold),
        ("test", lambda g: group_fold.get(g) == fold),
    ):
        whole = [r for r in scrape.pictures if mine(r.group_id)]
        parts[f"whole-{part}"] = _tree(base / f"whole-{part}", whole, scrape.curated)
        crops = [r for r in scrape.crop_rows if mine(r.group_id)]
        parts[f"crops-{part}"] = _tree(
            base / f"crops-{part}", crops, scrape.crops, scrape.crops / "faces.json"
        )
    same = {"epochs": args.epochs, "seed": args.seed}
    return {
        NAMES[0]: TrainConfig(parts["whole-train"], base / "whole", test_dir=parts["whole-test"], **same),
        NAMES[1]: TrainConfig(parts["crops-train"], base / "kept", test_dir=parts["crops-test"], **same),
        NAMES[2]: TrainConfig(
            parts["crops-train"], base / "clean", test_dir=parts["crops-test"], clean_labels=True, **same
        ),
    }


def _fer_row(fer_python: Path, truth: dict[str, int]) -> dict:
    """The `fer` package on the same pictures, in its own venv (bench/fer_peer.py)."""
    started = time.monotonic()
    done = subprocess.run(
        [str(fer_python), str(ROOT / "bench" / "fer_peer.py")],
        input="\n".join(truth),
        capture_output=True,
        text=True,
        check=True,
    )
    fer = {p: s for p, s in json.loads(done.stdout).items() if s is not None}
    note = f"finds a face in {len(fer)} of our {len(truth)}; {time.monotonic() - started:.0f} s"
    return _row(
        "`fer` package (its model + Haar faces)",
        truth,
        fer,
        {p: int(s >= 0.5) for p, s in fer.items()},
        0.0,
        note,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scrape", type=Path, default=SHARED / "seed-scrape")
    parser.add_argument("--fer", type=Path, default=SHARED / "fer2013-happy-sad")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--flip", type=float, default=0.10)
    parser.add_argument("--flip-epochs", type=int, default=15)
    parser.add_argument("--only", choices=("scrape", "flipped", "loop"))
    parser.add_argument("--fine-tune", help="the loop's recipe (default: train's own)")
    fer_python = ROOT / ".venv-fer" / "bin" / "python"
    parser.add_argument("--fer-python", type=Path, default=fer_python if fer_python.exists() else None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    quiet_tensorflow()
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp_name, Progress(console=console) as progress:
        tmp = Path(tmp_name)
        if args.only in (None, "scrape"):
            out["scrape"], out["scrape_facts"] = scrape_kfold(args, tmp / "scrape", progress)
        if args.only in (None, "flipped"):
            out["flipped"], out["flipped_facts"] = flipped_recall(args, tmp / "fer", progress)
        if args.only in (None, "loop"):
            rows, out["loop_facts"] = loop_recall(args, tmp / "loop", progress)
            out.setdefault("flipped", []).extend(rows)
            out.setdefault(
                "flipped_facts",
                {"images": out["loop_facts"]["images"], "flipped": out["loop_facts"]["flipped"]},
            )
    if args.json:
        print(json.dumps(out))
        return
    console_out = Console(width=180)
    if "scrape" in out:
        facts = out["scrape_facts"]
        table = Table(
            caption=machine.line(training=True),
            title=f"seed scrape, group {facts['folds']}-fold: {facts['with_a_face']} of {facts['pictures']} "
            "pictures have a face; each scored once by models that never saw it",
        )
        for column in ("model", "n", "accuracy", "balanced acc", "ROC-AUC", "train s (all folds)", "note"):
            table.add_column(column)
        for r in out["scrape"]:
            table.add_row(
                r["model"],
                str(r["n"]),
                f"{r['accuracy']:.3f}",
                f"{r['balanced_accuracy']:.3f}",
                f"{r['roc_auc']:.3f}",
                f"{r['train_s']:.0f}",
                r["note"],
            )
        console_out.print(table)
        console_out.print(facts)
    if "flipped" in out:
        facts = out["flipped_facts"]
        table = Table(
            title=f"label-error recall at K: FER2013 validation, {facts['flipped']} of {facts['images']} "
            f"labels flipped (K = {facts['flipped']})"
        )
        for column in ("method", "recall at K", "seconds"):
            table.add_column(column)
        for r in out["flipped"]:
            table.add_row(r["method"], f"{r['recall_at_k']:.3f}", f"{r['seconds']:.0f}")
        console_out.print(table)
    if "loop_facts" in out:
        console_out.print(out["loop_facts"])


if __name__ == "__main__":
    main()
