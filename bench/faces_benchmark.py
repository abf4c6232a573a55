"""Whole frame vs faces on the seed scrape, side by side in one run, scored on the same pictures.

The curated seed scrape is split once by duplicate group: a quarter of the groups is held
out (pictures no model trains on). Then, in one run:
  - the seed CNN on whole frames (as the notebook: 256 px RGB, 20 epochs);
  - the default architecture on whole frames;
  - the default architecture on face crops (`curate faces` + `export --faces`), from scratch;
  - the same, fine-tuned (`train --init`) from a run trained on FER2013 happy-vs-sad.
Whole-frame models are scored on every held-out picture; face models with `evaluate --faces`
on the held-out pictures in which a face was found (coverage printed), and the whole-frame
default is also scored on that same subset so the comparison is like for like.

    python bench/faces_benchmark.py [--fer-run RUN_DIR] [--fer-epochs 12] [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.train_benchmark import SHARED, curate
from trainer.data import list_tree
from trainer.faces import evaluate_faces, predict_faces
from trainer.predict import evaluate
from trainer.run import open_run
from trainer.splits import assign
from trainer.train import TrainConfig, train


def _link(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.link(src, dst)


def held_out_split(ws: Path, out: Path, seed: int) -> tuple[Path, Path, Path, Path]:
    """whole/{train,test} and faces/{train,test} trees; test = the pictures of a quarter of the groups."""
    curated, crops = ws / "curated", ws / "curated-faces"
    items = list_tree(curated)
    split = assign(items, (0.75, 0.25), seed)
    held = {i.group for i in items if split[i.path] == "validation"}
    for i in items:
        part = "test" if i.group in held else "train"
        _link(Path(i.path), out / "whole" / part / i.label / Path(i.path).name)
    with (crops / "manifest.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for part in ("train", "test"):
        (out / "faces" / part).mkdir(parents=True, exist_ok=True)
        shutil.copy(crops / "faces.json", out / "faces" / part / "faces.json")
        mine = [r for r in rows if (r["group_id"] in held) == (part == "test")]
        for r in mine:
            _link(crops / r["path"], out / "faces" / part / r["path"])
        with (out / "faces" / part / "manifest.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(mine)
    return out / "whole" / "train", out / "whole" / "test", out / "faces" / "train", out / "faces" / "test"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scrape", type=Path, default=SHARED / "seed-scrape")
    parser.add_argument("--fer", type=Path, default=SHARED / "fer2013-happy-sad")
    parser.add_argument("--fer-run", type=Path, help="reuse a FER2013 run instead of training one")
    parser.add_argument("--fer-epochs", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    rows, facts = [], {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = {**os.environ, "FIFTYONE_DATABASE_DIR": str(tmp / "db"), "FIFTYONE_DO_NOT_TRACK": "true"}
        try:
            ws = curate(tmp, args.scrape, [["faces"], ["export"], ["export", "--faces"]], env)
        finally:
            subprocess.run(["pkill", "-f", f"mongod.*{tmp / 'db'}"], check=False)
        faces_report = json.loads((tmp / "faces.json").read_text())
        facts["no_face_rate"] = faces_report["no_face_rate"]
        facts["pictures"] = faces_report["images"]
        whole_train, whole_test, faces_train, faces_test = held_out_split(ws, tmp / "split", args.seed)

        fer_run = args.fer_run
        if fer_run is None:
            fer = train(TrainConfig(args.fer / "train", tmp / "fer", epochs=args.fer_epochs, image_size=48,
                                    color_mode="grayscale", test_dir=args.fer / "validation"))  # fmt: skip
            fer_run = Path(fer.run)
            facts["fer_validation_accuracy"] = fer.metrics["test"]["accuracy"]
            facts["fer_seconds"] = fer.seconds

        def fit(name: str, data_dir: Path, test_dir: Path, **shape) -> tuple[object, dict]:
            result = train(TrainConfig(data_dir, tmp / name, test_dir=test_dir, seed=args.seed, **shape))
            return open_run(Path(result.run)), {"seconds": result.seconds}

        whole_models = {
            "seed CNN, whole frame": dict(arch="seed", epochs=20, image_size=256),
            "default, whole frame": dict(epochs=args.epochs),
        }
        for name, shape in whole_models.items():
            run, extra = fit(name, whole_train, whole_test, **shape)
            m = evaluate(run, whole_test)
            rows.append({"model": name, "scored on": "all held-out pictures", **extra, **m, "coverage": 1.0})
        face_models = {
            "default, face crops": dict(epochs=args.epochs, image_size=48, color_mode="grayscale"),
            "default, face crops, --init FER2013": dict(epochs=args.epochs, init=fer_run),
        }
        for name, shape in face_models.items():
            run, extra = fit(name, faces_train, faces_test, **shape)
            m = evaluate_faces(run, whole_test)
            rows.append({"model": name, "scored on": "held-out pictures with a face", **extra, **m})
        # the whole-frame default on the same pictures the face models could score
        covered = tmp / "covered"
        face_run = open_run(tmp / "default, face crops")
        scored = {
            Path(p.path).name for p in predict_faces(face_run, [str(whole_test)]) if p.label is not None
        }
        for i in list_tree(whole_test):
            if Path(i.path).name in scored:
                _link(Path(i.path), covered / i.label / Path(i.path).name)
        m = evaluate(open_run(tmp / "default, whole frame"), covered)
        rows.append({"model": "default, whole frame", "scored on": "held-out pictures with a face",
                     "seconds": rows[1]["seconds"], **m, "coverage": None})  # fmt: skip
    if args.json:
        print(json.dumps({"facts": facts, "rows": rows}, default=str))
        return
    table = Table(
        title=f"face-aware vs whole-frame, seed scrape held-out pictures (no-face rate {facts['no_face_rate']:.0%})"
    )
    for column in ("model", "scored on", "n", "coverage", "accuracy", "balanced acc", "ROC-AUC", "train s"):
        table.add_column(column)
    for r in rows:
        coverage = "" if r.get("coverage") is None else f"{r['coverage']:.0%}"
        table.add_row(r["model"], r["scored on"], str(r["n"]), coverage, f"{r['accuracy']:.3f}",
                      f"{r['balanced_accuracy']:.3f}", f"{r['roc_auc']:.3f}", f"{r['seconds']:.0f}")  # fmt: skip
    console = Console(width=180)
    console.print(table)
    console.print(facts)


if __name__ == "__main__":
    main()
