"""What `train` and `evaluate` print for people (with --json they print the result instead)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

from happysad.common.cli import out
from trainer import compare, finetune, metrics
from trainer.predict import FACES
from trainer.reader import face_folder

if TYPE_CHECKING:
    from trainer.train import TrainResult


def metrics_table(title: str, results: dict[str, dict]) -> Table:
    keys = ("n", "accuracy", "balanced_accuracy", "precision", "recall", "roc_auc", "pr_auc")
    table = Table(
        title=title, title_justify="left", caption="[low, high]: 95% interval", caption_justify="left"
    )
    table.add_column("")
    for key in keys:
        table.add_column(key.replace("_", " "), justify="right")
    for split, m in results.items():
        table.add_row(split, *[metrics.shown(m, k) for k in keys])
    return table


def print_train(result: TrainResult) -> None:
    """The summary table, then a line for each thing a user should know about the run."""
    out.print(metrics_table(f"run {result.run}", result.metrics))
    _print_reader(result)
    speed = f"{result.seconds:.0f}s ({result.images_per_second:.0f} images/s)"
    skipped = sum(result.skipped.values())
    fitted = (
        f"{result.epochs_run} epochs, {speed}" if result.epochs_run else "the starting model kept as it is"
    )
    out.print(f"{fitted}; skipped {skipped} unreadable; report: {result.run}/report.html")
    if result.fine_tune == finetune.FROM_PRIOR and not result.epochs_run:
        out.print(
            "no fine-tuning recipe read photos from another scrape better than the prior alone "
            "(docs/faces.md): the run is the prior; --fine-tune NAME fine-tunes anyway"
        )
    if result.evidence:
        out.print(
            f"labels judged by {result.evidence.replace('_', '-')} predictions: "
            f"{result.label_issues} label issues left out of training (split.csv: label_issue)"
        )
    if result.vs_prior is not None:
        moved = compare.moves(result.vs_prior, result.vs_prior_within_noise or [])
        out.print(f"vs the prior alone on the same test crops: {moved}")
    if result.compared_to is not None:
        c = result.compared_to
        same = "same test set" if c.same_data else "data changed, so the test set differs"
        moved = compare.moves(c.delta, c.within_noise)
        out.print(f"vs previous run {c.previous} on this data folder: {moved} ({same})")
    if "warning" in result.metrics.get("test", {}):
        out.print(f"[yellow]test: {result.metrics['test']['warning']}[/yellow]")


def _print_reader(result: TrainResult) -> None:
    """Which reader the run gives predict, evaluate and serve, and why: the line that keeps a
    whole-frame model from being taken for the face model by accident."""
    if result.read_by == FACES:
        cut = result.pictures
        where = f"; trained on their crops in {face_folder(Path(cut['folder']))}" if cut else ""
        out.print(f"read by faces: {result.reader_chosen}{where}; a picture without one gets no face found")
    else:
        out.print(
            f"read by the whole frame: {result.reader_chosen}. On a held-back scrape of people photos "
            "the whole-frame model read at chance (docs/benchmarks.md); the face reader is the default"
        )
