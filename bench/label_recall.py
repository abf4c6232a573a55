"""Label-error recall at K: FER2013 validation with a share of its labels flipped, the flipped
images looked for among the K each method ranks most suspect (K = the number flipped).
Part of `bench/faces_kfold.py` (`--only flipped`, `--only loop`); see its docstring.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from rich.progress import Progress

from bench.train_benchmark import curate
from trainer.config import TrainConfig
from trainer.data import Item, list_tree
from trainer.evidence import fold_probabilities
from trainer.fitting import score_items
from trainer.metrics import probabilities
from trainer.predict import predict
from trainer.run import PRIOR_DIR, open_run
from trainer.spec import ModelSpec
from trainer.train import train


def link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.link(src, dst)


def flip_labels(args) -> tuple[list[Item], set[str], list[str]]:
    """FER2013 validation's images, the paths whose label is flipped (`args.flip` of them,
    drawn under `args.seed`), and the labels."""
    rng = random.Random(args.seed)
    items = list_tree(args.fer / "validation")
    flipped = set(rng.sample([i.path for i in items], round(args.flip * len(items))))
    return items, flipped, sorted({i.label for i in items})


def flipped_recall(args, tmp: Path, progress: Progress) -> tuple[list[dict], dict]:
    """Label-error recall at K on FER2013 validation with a share of labels flipped."""
    items, flipped, labels = flip_labels(args)
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
        link(Path(i.path), tree / i.label / Path(i.path).name)
    started = time.monotonic()
    in_sample = _in_sample(args, tree, tmp, given, labels)
    rows = [
        _recall_row(
            "in sample: a model trained on the flipped set ranks its own images", recall(in_sample), started
        )
    ]
    progress.advance(task)

    prior = open_run(PRIOR_DIR)
    spec = ModelSpec.of_run(prior)
    cfg = TrainConfig(tree, epochs=args.flip_epochs, seed=args.seed, cross_fit=args.folds)
    started = time.monotonic()
    index = {label: n for n, label in enumerate(labels)}
    p_prior = probabilities(score_items(prior.load_model(), spec, given, index, cfg))
    rows.append(_recall_row("prior alone + cleanlab", recall(1 - label_quality(y, p_prior)), started))
    progress.advance(task)
    started = time.monotonic()
    oof, _, _ = fold_probabilities(cfg, spec, labels, given, lambda fold, total: progress.advance(task))
    method = f"out-of-fold ({args.folds} folds fine-tuned from the prior) + cleanlab"
    rows.append(_recall_row(method, recall(1 - label_quality(y, oof)), started))
    method = "out-of-fold and prior averaged + cleanlab (what review uses on face runs)"
    rows.append(_recall_row(method, recall(1 - label_quality(y, (oof + p_prior) / 2)), time.monotonic()))
    return rows, {"images": len(items), "flipped": k}


def _recall_row(method: str, recall_at_k: float, started: float) -> dict:
    return {"method": method, "recall_at_k": recall_at_k, "seconds": time.monotonic() - started}


def _in_sample(args, tree: Path, tmp: Path, given: list[Item], labels: list[str]) -> np.ndarray:
    """1 - P(given label) from a model trained on the flipped set itself: mistakenness in sample."""
    result = train(
        TrainConfig(tree, tmp / "in-sample", epochs=args.flip_epochs, seed=args.seed, init=Path("none"))
    )
    own = open_run(Path(result.run))
    by_name = {Path(p.path).name: p.scores[labels[1]] for p in predict(own, [str(tree)])}
    p_own = np.array([by_name[Path(i.path).name] for i in given])
    y = np.array([labels.index(i.label) for i in given])
    return 1 - np.where(y == 1, p_own, 1 - p_own)


def loop_recall(args, tmp: Path, progress: Progress) -> tuple[list[dict], dict]:
    """The same flipped labels through the README's loop, as a user runs it: `curate import`,
    `dedupe`, `export`, `train --init prior --cross-fit K`, `curate review --predictions RUN
    --top K`; recall = the flipped images among the K suspects review lists."""
    items, flipped, labels = flip_labels(args)
    tree = tmp / "tree"
    for i in items:
        label = labels[1 - labels.index(i.label)] if i.path in flipped else i.label
        link(Path(i.path), tree / label / Path(i.path).name)
    digest = {hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in flipped}
    task = progress.add_task("the loop: curate, train --cross-fit, review", total=3)
    env = {**os.environ, "FIFTYONE_DATABASE_DIR": str(tmp / "db"), "FIFTYONE_DO_NOT_TRACK": "true"}
    started = time.monotonic()
    ws = curate(tmp, tree, [["export"]], env)
    curated_s = time.monotonic() - started
    progress.advance(task)
    started = time.monotonic()
    asked = {"epochs": args.epochs, "seed": args.seed, "cross_fit": args.folds, "fine_tune": args.fine_tune}
    result = train(TrainConfig(ws / "curated", tmp / "run", init=Path("prior"), **asked))
    train_s = time.monotonic() - started
    progress.advance(task)
    k = len(flipped)
    started = time.monotonic()
    reviewed = _review(ws, result.run, k, env, tmp / "db")
    review_s = time.monotonic() - started
    progress.advance(task)
    suspects = reviewed["predictions"]["suspects"]
    found = sum(hashlib.sha256(Path(s["filepath"]).read_bytes()).hexdigest() in digest for s in suspects)
    recipe = f" --fine-tune {args.fine_tune}" if args.fine_tune else ""
    method = f"the loop: train --init prior --cross-fit {args.folds}{recipe}, curate review --predictions RUN --top {k}"
    rows = [{"method": method, "recall_at_k": found / k, "seconds": train_s + review_s}]
    facts = {
        "images": len(items),
        "flipped": k,
        "suspects_listed": len(suspects),
        "curate_s": round(curated_s),
        "train_cross_fit_s": round(train_s),
        "review_s": round(review_s),
        "exported": json.loads((tmp / "export.json").read_text()).get("exported"),
        "evidence": reviewed["predictions"]["evidence"],
    }
    return rows, facts


def _review(ws: Path, run: str, k: int, env: dict, db: Path) -> dict:
    """`curate review --no-app --predictions RUN --top K`'s JSON; the database it started is stopped."""
    command = ["review", "--no-app", "--predictions", run, "--top", str(k), "--data", str(ws), "--json"]
    try:
        done = subprocess.run(
            [sys.executable, "-c", "import curation.cli as m; m.main()", *command],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
    finally:
        subprocess.run(["pkill", "-f", f"mongod.*{db}"], check=False)
    return json.loads(done.stdout)
