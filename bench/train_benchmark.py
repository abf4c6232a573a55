"""The seed CNN as the notebook configures it vs the default architecture, side by side.

FER2013 happy-vs-sad: train on its train split (an internal 90/10 split of it picks the
epoch and the threshold), report on its validation split. The seed scrape: curated with
`curate` (so duplicates cannot straddle splits), then its own 70/20/10 split, report on
test. Figures: accuracy, balanced accuracy, ROC-AUC, training time, images/s (training images
per second of fitting: the figure that shows a speed regression) and the precision policy
(mixed bfloat16 on CPUs that compute it is faster than float32: compare like with like).
`--precision both` trains each run twice, as chosen and in float32 (`train --full-precision`):
on a processor with AVX-512 BF16 or AMX, how much slower training is without them (a lower
bound on how much slower it is on an AVX2-only processor, which is slower at everything).

    python bench/train_benchmark.py [--only fer|scrape] [--archs compact,seed] [--epochs 17]
                                    [--precision auto|full|both] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import machine
from trainer.config import TrainConfig
from trainer.record import CONFIG, RunConfig
from trainer.train import train

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
PRECISIONS: dict[str, tuple[bool | None, ...]] = {"auto": (None,), "full": (False,), "both": (None, False)}


def curate(workdir: Path, source: Path, steps: list[list[str]], env: dict | None = None) -> Path:
    """`curate import` then `dedupe` and `steps` into workdir/ws; each step's JSON in workdir/<step>.json."""
    data = workdir / "ws"
    for step in (["import", str(source)], ["dedupe"], *steps):
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "import curation.cli as m; m.main()",
                *step,
                "--data",
                str(data),
                "--json",
            ],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
        (workdir / f"{step[0]}.json").write_text(done.stdout)
    return data


def curated_scrape(workdir: Path, source: Path) -> Path:
    return curate(workdir, source, [["export"]]) / "curated"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=("fer", "scrape"))
    parser.add_argument("--archs", default="compact,seed")
    parser.add_argument(
        "--epochs", type=int, default=17, help="the default architecture's budget (fits 15 minutes on FER)"
    )
    parser.add_argument(
        "--keep", type=Path, help="keep the runs here (e.g. as --init for the faces benchmark)"
    )
    parser.add_argument("--seed-epochs", type=int, default=20, help="the notebook trained 20 epochs")
    parser.add_argument("--seed-image-size", type=int, default=256, help="the notebook's size")
    parser.add_argument("--fer", type=Path, default=SHARED / "fer2013-happy-sad")
    parser.add_argument("--scrape", type=Path, default=SHARED / "seed-scrape")
    parser.add_argument(
        "--precision",
        choices=tuple(PRECISIONS),
        default="auto",
        help="auto: bfloat16 where the CPU computes it; full: float32; both: each run twice",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        where = args.keep or Path(tmp)
        rows = [
            _trained(args, where / f"run-{n}-{one.arch}-{mixed}", one, mixed)
            for n, one in enumerate(_planned(args, Path(tmp)))
            for mixed in PRECISIONS[args.precision]
        ]
    if args.json:
        print(json.dumps(rows))
        return
    console = Console(width=160)
    console.print(_table(rows))
    if args.precision == "both":  # each run's pair, in the order trained: as chosen, then float32
        for chosen, full in zip(rows[::2], rows[1::2], strict=True):
            console.print(
                f"{chosen['data']}, {chosen['arch']}: float32 trains "
                f"{chosen['images_per_s'] / full['images_per_s']:.2f}x slower than {chosen['policy']}"
            )


class Planned(NamedTuple):
    data: str
    data_dir: Path
    test_dir: Path | None
    colour: str
    size: int
    arch: str


def _planned(args: argparse.Namespace, tmp: Path) -> list[Planned]:
    """Every architecture on every data set asked for."""
    sets = []
    if args.only in (None, "fer"):
        sets.append(
            ("FER2013 (validation split)", args.fer / "train", args.fer / "validation", "grayscale", 48)
        )
    if args.only in (None, "scrape"):
        sets.append(("seed scrape (own test split)", curated_scrape(tmp, args.scrape), None, "rgb", 128))
    return [Planned(*one, arch) for one in sets for arch in args.archs.split(",")]


def _trained(args: argparse.Namespace, out: Path, planned: Planned, mixed: bool | None) -> dict:
    """One run as the notebook (seed) or the default recipe configures it, and its row;
    `mixed`: the precision asked for (None: the CPU's choice, False: float32)."""
    seed = planned.arch == "seed"
    cfg = TrainConfig(
        planned.data_dir,
        out=out,
        arch=planned.arch,
        epochs=args.seed_epochs if seed else args.epochs,
        image_size=args.seed_image_size if seed else planned.size,
        color_mode="rgb" if seed else planned.colour,
        test_dir=planned.test_dir,
        mixed_precision=mixed,
    )
    result = train(cfg)
    m = result.metrics["test"]
    return {
        "data": planned.data,
        "arch": planned.arch,
        "accuracy": m["accuracy"],
        "balanced_accuracy": m["balanced_accuracy"],
        "roc_auc": m["roc_auc"],
        "n": m["n"],
        "seconds": result.seconds,
        "images_per_s": result.images_per_second,
        "epochs": result.epochs_run,
        "policy": RunConfig.read(Path(result.run) / CONFIG).precision_policy,
    }


def _table(rows: list[dict]) -> Table:
    table = Table(title="trainer benchmark", caption=machine.line(training=True))
    columns = "data|arch|accuracy|balanced acc|ROC-AUC|n|train s|images/s|epochs|precision"
    for column in columns.split("|"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["data"],
            r["arch"],
            f"{r['accuracy']:.3f}",
            f"{r['balanced_accuracy']:.3f}",
            f"{r['roc_auc']:.3f}",
            str(r["n"]),
            f"{r['seconds']:.0f}",
            f"{r['images_per_s']:.0f}",
            str(r["epochs"]),
            r["policy"],
        )
    return table


if __name__ == "__main__":
    main()
