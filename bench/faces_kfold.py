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
import random
import shutil
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
from happysad.common import tables
from happysad.common.tf_runtime import quiet_tensorflow
from happysad.faces.batch import detect_files
from happysad.faces.detectors import from_setting
from trainer import splits
from trainer.config import TrainConfig
from trainer.data import Item, list_tree
from trainer.evidence import fold_probabilities
from trainer.face_scoring import DEFAULTS, classify
from trainer.fitting import score_items
from trainer.metrics import probabilities
from trainer.predict import predict
from trainer.run import PRIOR_DIR, open_run
from trainer.spec import ModelSpec
from trainer.train import train

ROOT = Path(__file__).resolve().parents[1]
console = Console(width=180, stderr=True)


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.link(src, dst)


def _tree(dst: Path, rows: list[tables.Exported], root: Path, faces_json: Path | None = None) -> Path:
    """A labelled tree of hard links with its own manifest.csv (and faces.json for crops)."""
    for r in rows:
        _link(root / r.path, dst / r.path)
    if faces_json is not None:
        shutil.copy(faces_json, dst / "faces.json")
    tables.write_manifest(dst, rows, faces=faces_json is not None)
    return dst


def _row(name: str, truth: dict[str, int], prob: dict[str, float], label: dict[str, int], seconds: float,
         note: str = "") -> dict:  # fmt: skip
    paths = [p for p in truth if p in prob]
    y, s, yhat = (np.array([d[p] for p in paths]) for d in (truth, prob, label))
    return {"model": name, "n": len(paths), "accuracy": float(skm.accuracy_score(y, yhat)),
            "balanced_accuracy": float(skm.balanced_accuracy_score(y, yhat)),
            "roc_auc": float(skm.roc_auc_score(y, s)), "train_s": seconds, "note": note}  # fmt: skip


def scrape_kfold(args, tmp: Path, progress: Progress) -> tuple[list[dict], dict]:
    env = {**os.environ, "FIFTYONE_DATABASE_DIR": str(tmp / "db"), "FIFTYONE_DO_NOT_TRACK": "true"}
    try:
        ws = curate(tmp, args.scrape, [["faces"], ["export"], ["export", "--faces"]], env)
    finally:
        subprocess.run(["pkill", "-f", f"mongod.*{tmp / 'db'}"], check=False)
    curated, crops = ws / "curated", ws / "curated-faces"
    pictures, crop_rows = tables.read_manifest(curated) or [], tables.read_manifest(crops) or []
    items = [Item(str((curated / r.path).resolve()), r.label, r.group_id) for r in pictures]
    fold_of = splits.folds(items, args.folds, args.seed)
    group_fold = {i.group: fold_of[i.path] for i in items}
    labels = sorted({r.label for r in pictures})
    truth = {i.path: labels.index(i.label) for i in items}

    prior = open_run(PRIOR_DIR)
    detector = from_setting(DEFAULTS["detector"])
    found = list(detect_files(detector, [Path(i.path) for i in items], 2))
    prior_pred = classify(prior, found)
    with_face = {p.path for p in prior_pred if p.label is not None}
    facts = {"pictures": len(items), "with_a_face": len(with_face), "folds": args.folds}
    truth = {p: t for p, t in truth.items() if p in with_face}

    names = ("default, whole frame", "fine-tuned from the prior, labels kept",
             "fine-tuned from the prior, labels cleaned")  # fmt: skip
    prob: dict[str, dict[str, float]] = {n: {} for n in names}
    label: dict[str, dict[str, int]] = {n: {} for n in names}
    seconds = dict.fromkeys(names, 0.0)
    left_out = 0
    task = progress.add_task("seed-scrape folds", total=args.folds * 3)
    for fold in range(args.folds):
        base = tmp / f"fold{fold}"
        parts = {}
        for part, mine in (
            ("train", lambda g, fold=fold: group_fold.get(g) != fold),
            ("test", lambda g, fold=fold: group_fold.get(g) == fold),
        ):
            parts[f"whole-{part}"] = _tree(
                base / f"whole-{part}", [r for r in pictures if mine(r.group_id)], curated
            )
            parts[f"crops-{part}"] = _tree(base / f"crops-{part}", [r for r in crop_rows if mine(r.group_id)], crops,
                                           crops / "faces.json")  # fmt: skip
        runs = {
            names[0]: TrainConfig(parts["whole-train"], base / "whole", epochs=args.epochs, seed=args.seed,
                                  test_dir=parts["whole-test"]),
            names[1]: TrainConfig(parts["crops-train"], base / "kept", epochs=args.epochs, seed=args.seed,
                                  test_dir=parts["crops-test"], clean_labels=False),
            names[2]: TrainConfig(parts["crops-train"], base / "clean", epochs=args.epochs, seed=args.seed,
                                  test_dir=parts["crops-test"], clean_labels=True),
        }  # fmt: skip
        held = [f for f in found if str(f.path) in truth and fold_of[str(f.path)] == fold]
        for name, cfg in runs.items():
            result = train(cfg)
            seconds[name] += result.seconds
            left_out += result.label_issues if name == names[2] else 0
            run = open_run(Path(result.run))
            preds = predict(run, [str(f.path) for f in held]) if name == names[0] else classify(run, held)
            for p in preds:
                if p.label is not None:
                    prob[name][p.path] = p.scores[run.labels[1]]
                    label[name][p.path] = run.labels.index(p.label)
            progress.advance(task)
    facts["label_issues_left_out_per_fold"] = left_out / args.folds
    rows = [_row(names[0], truth, prob[names[0]], label[names[0]], seconds[names[0]])]
    prior_prob = {p.path: p.scores[prior.labels[1]] for p in prior_pred if p.label is not None}
    prior_label = {p.path: prior.labels.index(p.label) for p in prior_pred if p.label is not None}
    rows.append(_row("prior alone (FER2013 only)", truth, prior_prob, prior_label, 0.0))
    rows += [_row(n, truth, prob[n], label[n], seconds[n]) for n in names[1:]]
    if args.fer_python:
        started = time.monotonic()
        done = subprocess.run([str(args.fer_python), str(ROOT / "bench" / "fer_peer.py")], input="\n".join(truth),
                              capture_output=True, text=True, check=True)  # fmt: skip
        fer = {p: s for p, s in json.loads(done.stdout).items() if s is not None}
        rows.append(_row("`fer` package (its model + Haar faces)", truth, fer,
                         {p: int(s >= 0.5) for p, s in fer.items()}, 0.0,
                         f"finds a face in {len(fer)} of our {len(truth)}; {time.monotonic() - started:.0f} s"))  # fmt: skip
    return rows, facts


def flipped_recall(args, tmp: Path, progress: Progress) -> tuple[list[dict], dict]:
    """Label-error recall at K on FER2013 validation with a share of labels flipped."""
    rng = random.Random(args.seed)
    items = list_tree(args.fer / "validation")
    flipped = set(rng.sample([i.path for i in items], round(args.flip * len(items))))
    labels = sorted({i.label for i in items})
    given = [
        Item(i.path, labels[1 - labels.index(i.label)] if i.path in flipped else i.label, i.path)
        for i in items
    ]
    y = np.array([labels.index(i.label) for i in given])
    k = len(flipped)

    def recall(issue: np.ndarray) -> float:
        top = np.argsort(-issue, kind="stable")[:k]
        return len({given[n].path for n in top} & flipped) / k

    from curation.assist import label_quality

    task = progress.add_task("FER2013 flipped labels", total=2 + args.folds)
    tree = tmp / "flipped"
    for i in given:
        _link(Path(i.path), tree / i.label / Path(i.path).name)
    rows = []
    started = time.monotonic()
    result = train(TrainConfig(tree, tmp / "in-sample", epochs=args.flip_epochs, seed=args.seed,
                               init=Path("none")))  # fmt: skip
    own = open_run(Path(result.run))
    by_name = {Path(p.path).name: p.scores[labels[1]] for p in predict(own, [str(tree)])}
    p_own = np.array([by_name[Path(i.path).name] for i in given])
    in_sample = 1 - np.where(y == 1, p_own, 1 - p_own)  # 1 - P(given label), as mistakenness ranks
    rows.append({"method": "in sample: a model trained on the flipped set ranks its own images",
                 "recall_at_k": recall(in_sample), "seconds": time.monotonic() - started})  # fmt: skip
    progress.advance(task)

    prior = open_run(PRIOR_DIR)
    shape = ModelSpec.of_run(prior)
    cfg = TrainConfig(tree, epochs=args.flip_epochs, seed=args.seed, cross_fit=args.folds)
    started = time.monotonic()
    p_prior = probabilities(
        score_items(prior.load_model(), shape, given, {label: n for n, label in enumerate(labels)}, cfg)
    )
    rows.append({"method": "prior alone + cleanlab", "recall_at_k": recall(1 - label_quality(y, p_prior)),
                 "seconds": time.monotonic() - started})  # fmt: skip
    progress.advance(task)
    started = time.monotonic()
    oof, _, _ = fold_probabilities(cfg, shape, labels, given, lambda fold, total: progress.advance(task))
    rows.append({"method": f"out-of-fold ({args.folds} folds fine-tuned from the prior) + cleanlab",
                 "recall_at_k": recall(1 - label_quality(y, oof)), "seconds": time.monotonic() - started})  # fmt: skip
    rows.append({"method": "out-of-fold and prior averaged + cleanlab (what review uses on face runs)",
                 "recall_at_k": recall(1 - label_quality(y, (oof + p_prior) / 2)), "seconds": 0.0})  # fmt: skip
    return rows, {"images": len(items), "flipped": k}


def loop_recall(args, tmp: Path, progress: Progress) -> tuple[list[dict], dict]:
    """The same flipped labels through the README's loop, as a user runs it: `curate import`,
    `dedupe`, `export`, `train --init prior --cross-fit K`, `curate review --predictions RUN
    --top K`; recall = the flipped images among the K suspects review lists."""
    import hashlib

    rng = random.Random(args.seed)
    items = list_tree(args.fer / "validation")
    flipped = set(rng.sample([i.path for i in items], round(args.flip * len(items))))
    labels = sorted({i.label for i in items})
    tree = tmp / "tree"
    for i in items:
        label = labels[1 - labels.index(i.label)] if i.path in flipped else i.label
        _link(Path(i.path), tree / label / Path(i.path).name)
    digest = {hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in flipped}
    task = progress.add_task("the loop: curate, train --cross-fit, review", total=3)
    env = {**os.environ, "FIFTYONE_DATABASE_DIR": str(tmp / "db"), "FIFTYONE_DO_NOT_TRACK": "true"}
    started = time.monotonic()
    ws = curate(tmp, tree, [["export"]], env)
    curated_s = time.monotonic() - started
    progress.advance(task)
    started = time.monotonic()
    result = train(TrainConfig(ws / "curated", tmp / "run", epochs=args.epochs, seed=args.seed,
                               init=Path("prior"), cross_fit=args.folds, fine_tune=args.fine_tune))  # fmt: skip
    train_s = time.monotonic() - started
    progress.advance(task)
    k = len(flipped)
    try:
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-c", "import curation.cli as m; m.main()", "review", "--no-app",
                               "--predictions", result.run, "--top", str(k), "--data", str(ws), "--json"],
                              check=True, capture_output=True, text=True, env=env)  # fmt: skip
        review_s = time.monotonic() - started
    finally:
        subprocess.run(["pkill", "-f", f"mongod.*{tmp / 'db'}"], check=False)
    progress.advance(task)
    suspects = json.loads(done.stdout)["predictions"]["suspects"]
    found = sum(hashlib.sha256(Path(s["filepath"]).read_bytes()).hexdigest() in digest for s in suspects)
    exported = json.loads((tmp / "export.json").read_text())
    recipe = f" --fine-tune {args.fine_tune}" if args.fine_tune else ""
    rows = [{"method": f"the loop: train --init prior --cross-fit {args.folds}{recipe}, curate review --predictions RUN "
             f"--top {k}", "recall_at_k": found / k, "seconds": train_s + review_s}]  # fmt: skip
    facts = {"images": len(items), "flipped": k, "suspects_listed": len(suspects), "curate_s": round(curated_s),
             "train_cross_fit_s": round(train_s), "review_s": round(review_s),
             "exported": exported.get("exported"), "evidence": json.loads(done.stdout)["predictions"]["evidence"]}  # fmt: skip
    return rows, facts


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
            out.setdefault("flipped_facts", {"images": out["loop_facts"]["images"],
                                             "flipped": out["loop_facts"]["flipped"]})  # fmt: skip
    if args.json:
        print(json.dumps(out))
        return
    console_out = Console(width=180)
    if "scrape" in out:
        facts = out["scrape_facts"]
        table = Table(caption=machine.line(training=True), title=f"seed scrape, group {facts['folds']}-fold: {facts['with_a_face']} of {facts['pictures']} "
                      "pictures have a face; each scored once by models that never saw it")  # fmt: skip
        for column in ("model", "n", "accuracy", "balanced acc", "ROC-AUC", "train s (all folds)", "note"):
            table.add_column(column)
        for r in out["scrape"]:
            table.add_row(r["model"], str(r["n"]), f"{r['accuracy']:.3f}", f"{r['balanced_accuracy']:.3f}",
                          f"{r['roc_auc']:.3f}", f"{r['train_s']:.0f}", r["note"])  # fmt: skip
        console_out.print(table)
        console_out.print(facts)
    if "flipped" in out:
        facts = out["flipped_facts"]
        table = Table(title=f"label-error recall at K: FER2013 validation, {facts['flipped']} of {facts['images']} "
                      f"labels flipped (K = {facts['flipped']})")  # fmt: skip
        for column in ("method", "recall at K", "seconds"):
            table.add_column(column)
        for r in out["flipped"]:
            table.add_row(r["method"], f"{r['recall_at_k']:.3f}", f"{r['seconds']:.0f}")
        console_out.print(table)
    if "loop_facts" in out:
        console_out.print(out["loop_facts"])


if __name__ == "__main__":
    main()
