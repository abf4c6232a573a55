"""Pictures people would rather look at: curves, confusion matrix, ROC, worst mistakes."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np

from trainer.metrics import shown


def _figure(figsize: tuple[float, float]):
    """A figure of its own, not pyplot's: drawing a report leaves the caller's backend alone
    (a notebook's inline plots keep working) and needs no display."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize)


def curves(history: dict[str, list[float]], out: Path) -> None:
    keys = [k for k in ("loss", "accuracy") if history.get(k)]
    if not keys:  # nothing was fitted (a run that keeps its starting model)
        return
    fig = _figure(figsize=(5 * len(keys), 3.5))
    axes = fig.subplots(1, len(keys))
    for ax, key in zip(np.atleast_1d(axes), keys, strict=True):
        ax.plot(history[key], label="train")
        if f"val_{key}" in history:
            ax.plot(history[f"val_{key}"], label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=90)


def confusion(matrix: list[list[int]], labels: list[str], out: Path, title: str) -> None:
    fig = _figure(figsize=(3.8, 3.4))
    ax = fig.subplots()
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            ax.text(j, i, str(value), ha="center", va="center")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(out, dpi=90)


def roc(y_true: np.ndarray, scores: np.ndarray, out: Path) -> None:
    from sklearn.metrics import roc_curve

    fig = _figure(figsize=(3.8, 3.4))
    ax = fig.subplots()
    if scores.ndim == 1 and len(set(y_true.tolist())) > 1:
        fpr, tpr, _ = roc_curve(y_true, scores)
        ax.plot(fpr, tpr)
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("ROC (test)")
    fig.tight_layout()
    fig.savefig(out, dpi=90)


def _thumb(path: str) -> str:
    from PIL import Image

    with Image.open(path) as img:
        img = img.convert("RGB")
        img.thumbnail((160, 160))
        buffer = io.BytesIO()
        img.save(buffer, "JPEG", quality=80)
    return base64.b64encode(buffer.getvalue()).decode()


def _grid(images: list[tuple[str, str, str, float]], given: str, read: str) -> str:
    return "".join(
        f'<figure><img src="data:image/jpeg;base64,{_thumb(p)}"><figcaption>{given} {html.escape(t)}, '
        f"{read} {html.escape(pr)} ({s:.2f})<br><small>{html.escape(Path(p).name)}</small>"
        "</figcaption></figure>"
        for p, t, pr, s in images
    )


def html_report(
    run: Path,
    title: str,
    metrics: dict[str, dict],
    worst: list[tuple[str, str, str, float]],
    left_out: list[tuple[str, str, str, float]] = (),
) -> None:
    """report.html: the figures, a metrics table, the worst misclassified test images, and the
    images left out of training as label issues (path, given label, evidence's label, its probability)."""
    keys = ("n", "accuracy", "balanced_accuracy", "precision", "recall", "roc_auc", "pr_auc", "threshold")
    rows = "".join(
        f"<tr><th>{html.escape(split)}</th>"
        + "".join(f"<td>{html.escape(shown(m, k))}</td>" for k in keys)
        + "</tr>"
        for split, m in metrics.items()
    )
    grid = _grid(worst, "true", "predicted")
    issues = (
        f"<h2>Left out of training as label issues ({len(left_out)})</h2>"
        "<p>Models that never saw these labels disagree with them (split.csv: label_issue).</p>"
        + _grid(list(left_out)[:48], "filed as", "evidence reads")
        if left_out
        else ""
    )
    header = "".join(f"<th>{k}</th>" for k in keys)
    warnings = "".join(
        f"<p><b>{html.escape(split)}:</b> {html.escape(m['warning'])}</p>"
        for split, m in metrics.items()
        if "warning" in m
    )
    images = "".join(
        f'<img src="{name}">' for name in ("curves.png", "confusion.png", "roc.png") if (run / name).exists()
    )
    (run / "report.html").write_text(
        f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 10px;text-align:right}"
        "figure{display:inline-block;margin:6px;width:170px;font-size:12px}</style>"
        f"<h1>{html.escape(title)}</h1><table><tr><th></th>{header}</tr>{rows}</table>"
        "<p>[low, high]: the 95% interval (Wilson; bootstrap for balanced accuracy and ROC-AUC).</p>"
        f"{warnings}"
        f"<h2>Training</h2>{images}<h2>Worst misclassified test images</h2>{grid or '<p>none</p>'}{issues}"
    )
