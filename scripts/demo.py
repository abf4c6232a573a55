"""The main job, offline, end to end: query → raw images → curated set → model → review.

Starts the built-in demo image search on loopback, then runs the commands a user types:
`collect` (bing engine pointed at the demo) for a happy and a sad query, `curate dedupe`,
`curate review --no-app`, `curate export`, `train --cross-fit 3` (the pictures' faces cut
beside the export, the shipped prior kept, every label judged out of fold by three models
fine-tuned from the prior without it), `evaluate` on an independent second
scrape, `predict`, and `curate review --predictions` to rank likely mislabelled images.
Each runs with --json, in this process as its console script (TensorFlow and FiftyOne start
once), and the closing summary is built from what they printed.

    python scripts/demo.py [--data demo-data] [--limit 80] [--epochs 30] [--image-size N]
                           [--cross-fit 3] [--arch NAME] [--batch-size 16] [--full-precision]
                           [--json]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from contextlib import redirect_stdout
from importlib.metadata import entry_points
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collector.demo import catalogue
from collector.demo.server import Site, serve
from trainer.splits import SPLITS

err = Console(stderr=True)


class StepFailed(RuntimeError):
    pass


def step(*argv: str) -> dict | list:
    """Run one happysad command with --json, as its console script does, in this process:
    TensorFlow and FiftyOne start once, not once a step (a third of the demo's time as
    processes). Its progress and errors go to our stderr, its one JSON value is read."""
    err.print(f"[bold cyan]$[/] {' '.join(argv)}", highlight=False)
    (script,) = entry_points(group="console_scripts", name=argv[0])
    printed, argv_before, code = io.StringIO(), sys.argv, 0
    sys.argv = [argv[0], *argv[1:], "--json"]
    try:
        with err.status(argv[0] + " " + (argv[1] if len(argv) > 1 else "")), redirect_stdout(printed):
            script.load()()
    except SystemExit as exc:  # how a Click command ends, done or not
        code = exc.code
    finally:
        sys.argv = argv_before
    if code:
        raise StepFailed(f"`{' '.join(argv)}` failed with exit code {code}")
    return json.loads(printed.getvalue())


def run(args: argparse.Namespace) -> dict:
    data, holdout = args.data.resolve(), args.data.resolve() / "holdout"
    site = Site()
    catalogue.install(site, args.count)
    summary: dict = {"data": str(data)}
    with serve(site) as base:
        endpoint = f"{base}/images/search"
        err.print(f"demo image search at {endpoint}; workspace {data}")
        collected = _collect(args, endpoint, data, holdout)
    planted = catalogue.mislabelled(catalogue.answer_key(data, args.count))
    summary["collected"] = sum(collected[q]["ok"] for q in ("happy people", "sad people"))
    summary["rejected_while_collecting"] = sum(
        collected[q]["filtered"] + collected[q]["failed"] for q in ("happy people", "sad people")
    )
    summary["planted_mislabels"] = len(planted)

    dedupe = step("curate", "dedupe", "--data", str(data))
    step("curate", "review", "--no-app", "--data", str(data))
    export = step("curate", "export", "--data", str(data))
    summary["duplicate_groups"] = len(dedupe["groups"])
    summary["duplicates_removed"] = export["left_out"].get("duplicate of the keeper", 0)
    summary["flagged_removed"] = sum(v for k, v in export["left_out"].items() if k.startswith("flagged"))
    summary["conflicts_held_back"] = export["left_out"].get("label conflict", 0)
    summary["curated"] = export["per_label"]

    options = [
        *("--epochs", str(args.epochs), "--batch-size", str(args.batch_size), "--data", str(data)),
        *(("--image-size", str(args.image_size)) if args.image_size else ()),
        *(("--arch", args.arch) if args.arch else ()),
        *(("--full-precision",) if args.full_precision else ()),
    ]
    # the pictures are read by their faces and the prior is kept (docs/faces.md); three models
    # fine-tuned from it on three folds judge every label without having seen it, which leads
    # the review below (--clean-labels would leave the disputed out of a training that keeping
    # the prior does not do)
    trained = step(
        "train",
        str(data / "curated"),
        "--out",
        str(data / "runs" / "round-1"),
        *options,
        "--cross-fit",
        str(args.cross_fit),
    )
    test = trained["metrics"]["test"]
    summary["read_by"] = trained["read_by"]
    summary["pictures"] = trained["pictures"]
    summary["run"] = trained["run"]
    summary["report"] = str(Path(trained["run"]) / "report.html")
    summary["split"] = trained["counts"]
    summary["test"] = {k: test[k] for k in ("n", "accuracy", "balanced_accuracy", "roc_auc")}

    # the independent scrape needs its duplicates and junk out too
    step("curate", "dedupe", "--data", str(holdout))
    step("curate", "export", "--data", str(holdout))
    evaluated = step("evaluate", trained["run"], str(holdout / "curated"), "--data", str(data))
    summary["independent"] = {k: evaluated[k] for k in ("n", "accuracy", "balanced_accuracy", "roc_auc")}
    examples = [str(sorted((holdout / "curated" / label).iterdir())[0]) for label in export["per_label"]]
    predicted = step("predict", trained["run"], *examples, "--data", str(data))
    summary["predict_examples"] = [
        {"path": p["path"], "label": p["label"], "probability": p["probability"]} for p in predicted
    ]

    reviewed = step(
        "curate",
        "review",
        "--no-app",
        "--predictions",
        trained["run"],
        "--top",
        str(max(10, 2 * summary["planted_mislabels"])),
        "--data",
        str(data),
    )
    suspects = reviewed["predictions"]["suspects"]
    top = suspects[: max(1, 2 * summary["planted_mislabels"])]
    summary["likely_mislabelled_top"] = len(top)
    summary["planted_in_top"] = sum(1 for s in top if s["filepath"] in planted)
    return summary


def _collect(args: argparse.Namespace, endpoint: str, data: Path, holdout: Path) -> dict:
    """Both labels into the workspace, and an independent scrape of other queries beside it."""
    collected = {}
    for query, label, where, limit in (
        ("happy people", "happy", data, args.limit),
        ("sad people", "sad", data, args.limit),
        ("smiling people", "happy", holdout, args.holdout_limit),
        ("sad faces", "sad", holdout, args.holdout_limit),
    ):
        got = step(  # --allow-private: the demo site is on loopback
            "collect",
            query,
            "--label",
            label,
            "--limit",
            str(limit),
            "--endpoint",
            endpoint,
            "--data",
            str(where),
            "--allow-private",
        )
        collected[query] = got
    return collected


def _reader(summary: dict) -> str:
    cut = summary["pictures"]
    if summary["read_by"] != "faces" or not cut:
        return summary["read_by"]
    return f"faces: found in {cut['with_face']} of {cut['searched']} pictures; the others get no face found"


def show(summary: dict) -> None:
    table = Table(title="happysad demo: query to model, offline", title_justify="left", show_header=False)
    table.add_column("")
    table.add_column("")
    t, ind = summary["test"], summary["independent"]
    rows = [
        (
            "images collected",
            f"{summary['collected']} (+{summary['rejected_while_collecting']} turned away: "
            "HTML served as JPEG, tiny icons, dead links)",
        ),
        ("duplicates removed", f"{summary['duplicates_removed']} in {summary['duplicate_groups']} groups"),
        ("junk flagged by scan", str(summary["flagged_removed"])),
        ("held back as label conflicts", str(summary["conflicts_held_back"])),
        ("curated for training", ", ".join(f"{k} {v}" for k, v in summary["curated"].items())),
        ("read by", _reader(summary)),
        ("split train/validation/test", "/".join(str(summary["split"][k]) for k in SPLITS)),
        ("test accuracy", f"{t['accuracy']:.3f} (balanced {t['balanced_accuracy']:.3f}, n={t['n']})"),
        (
            "independent scrape accuracy",
            f"{ind['accuracy']:.3f} (balanced {ind['balanced_accuracy']:.3f}, n={ind['n']})",
        ),
        (
            "planted mislabels in the top of 'likely mislabelled'",
            f"{summary['planted_in_top']} of {summary['planted_mislabels']} "
            f"(top {summary['likely_mislabelled_top']})",
        ),
        ("run", summary["run"]),
        ("report", summary["report"]),
    ]
    for row in rows:
        table.add_row(*row)
    Console().print(table)
    err.print(f"next: .venv/bin/curate review --data {summary['data']}   (view 'likely mislabelled')")


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--data", type=Path, default=Path("demo-data"))
    parser.add_argument("--limit", type=int, default=80, help="images per query")
    parser.add_argument("--holdout-limit", type=int, default=40, help="images per query, independent scrape")
    parser.add_argument("--count", type=int, default=160, help="search results per query on the demo site")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--cross-fit", type=int, default=3, help="fold models that judge the labels")
    parser.add_argument("--arch", help="architecture (default: train's)")
    parser.add_argument("--batch-size", type=int, default=16, help="images per training step")
    parser.add_argument("--image-size", type=int, help="pixels a side (default: train's; 48 on faces)")
    parser.add_argument(
        "--full-precision",
        action="store_true",
        help="train in float32 where bfloat16 would be chosen: how the demo runs on a processor without it",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    args = parser.parse_args()
    try:
        summary = run(args)
    except StepFailed as exc:
        err.print(f"demo: error: {exc}", markup=False)
        raise SystemExit(1) from None
    if args.json:
        print(json.dumps(summary))
    else:
        show(summary)


if __name__ == "__main__":
    main()
