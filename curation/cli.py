"""`curate`: import, scan, dedupe, faces, review, export, status. Parse, call curation.*, print."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from curation import api, assist, database, face_scan, grouping
from curation import review as review_lib
from happysad.common.cli import DataOpt, JsonOpt, choices, err, one_line_errors, out
from happysad.common.jsonable import plain
from happysad.common.workspace import resolve_data_dir
from happysad.faces import crops, detectors

Detector = choices("Detector", detectors.DETECTORS)
guarded = one_line_errors("curate", lost_database=database.lost)
app = typer.Typer(add_completion=False, no_args_is_help=True, help="Curate the workspace's images.")


def _table(title: str, rows: list[tuple[str, object]]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("")
    table.add_column("count", justify="right")
    for name, value in rows:
        table.add_row(name, str(value))
    return table


def _emit(as_json: bool, payload: dict[str, Any], table: Table) -> None:
    if as_json:
        print(json.dumps(payload, default=str))
    else:
        out.print(table)


def _progress(as_json: bool) -> bool | None:
    """No bars beside one JSON value; else where someone watches."""
    return False if as_json else None


def _suspects(report: assist.AssistReport) -> Table:
    table = Table(title=f"likely mislabelled (model {report.run})", title_justify="left")
    for column in ("image", "label", "evidence says", "confidence", "label issue", "evidence", "run split"):
        table.add_column(column)
    for s in report.suspects:
        table.add_row(
            s.filepath,
            s.label,
            s.predicted,
            f"{s.confidence:.2f}",
            f"{s.label_issue:.2f}",
            s.evidence,
            s.split,
        )
    return table


@app.command("import", help="Copy a folder tree (label = sub-folder name) into the workspace.")
@guarded
def import_(
    source: Annotated[Path, typer.Argument(help="Folder with one sub-folder per label.")],
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    report = api.import_folder(resolve_data_dir(data, create=True), source)
    rows = [(f"added {label}", n) for label, n in sorted(report.per_label.items())]
    rows += [
        ("already in the workspace", report.known),
        ("files outside label folders (ignored)", len(report.ignored)),
        ("skipped (unreadable, too large, links out)", len(report.skipped)),
    ]
    _emit(as_json, plain(report), _table(f"import {source}", rows))


@app.command(help="Decode every new image fully; flag corrupt, non-image, small, animated files and bombs.")
@guarded
def scan(
    data: DataOpt = None,
    as_json: JsonOpt = False,
    min_size: Annotated[
        int | None,
        typer.Option(
            "--min-size",
            min=1,
            help="Smaller width or height is flagged small (default: from the data, at most 64).",
        ),
    ] = None,
) -> None:
    report = api.scan(resolve_data_dir(data), min_size, _progress(as_json))
    rows = [
        ("new from collect", report.new_from_collect),
        ("scanned", report.scanned),
        (f"small below, px (from the {report.min_size_from})", report.min_size),
    ]
    rows += [(f"flagged {flag}", n) for flag, n in report.flags.most_common()]
    rows += [
        (f"looks {issue.replace('_', ' ')} (quality:{issue})", n) for issue, n in report.quality.most_common()
    ]
    rows.append(("looks like junk: left out of the export (tag keep to take it)", report.junk))
    _emit(as_json, plain(report), _table("scan", rows))


@app.command(help="Group exact and near duplicates (perceptual hashes); flag cross-label conflicts.")
@guarded
def dedupe(
    data: DataOpt = None,
    as_json: JsonOpt = False,
    threshold: Annotated[
        int, typer.Option("--threshold", min=0, max=32, help="Max pHash bits apart.")
    ] = grouping.THRESHOLD,
    min_size: Annotated[
        int | None, typer.Option("--min-size", min=1, help="Used when scanning new files first.")
    ] = None,
) -> None:
    report = api.dedupe(resolve_data_dir(data), threshold, min_size, _progress(as_json))
    rows = [
        ("images compared", report.images),
        ("exact-duplicate groups", report.exact_groups),
        ("near-duplicate groups", report.near_groups),
        ("label conflicts", len(report.conflicts)),
        ("duplicates that export drops", report.to_drop),
    ]
    _emit(as_json, plain(report), _table(f"dedupe (threshold {threshold})", rows))


@app.command(help="Build or update the FiftyOne dataset and open the App for label review.")
@guarded
def review(
    data: DataOpt = None,
    as_json: JsonOpt = False,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port for the FiftyOne App.")] = 5151,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Serve the App without opening a browser.")
    ] = False,
    no_app: Annotated[
        bool, typer.Option("--no-app", help="Only update the dataset; do not start the App.")
    ] = False,
    predictions: Annotated[
        Path | None,
        typer.Option(
            "--predictions",
            metavar="RUN_DIR",
            help="A training run, or 'prior': predict every image, rank the labels the evidence disputes "
            "(out-of-fold where the run has it; 'likely mislabelled').",
        ),
    ] = None,
    top: Annotated[
        int, typer.Option("--top", min=0, help="How many likely mislabelled images to list.")
    ] = assist.TOP,
    faces: Annotated[
        bool | None,
        typer.Option(
            "--faces/--no-faces",
            help="With --predictions: read the faces (default for face runs and prior), "
            "or each image as one face crop.",
        ),
    ] = None,
) -> None:
    report = api.review(resolve_data_dir(data), predictions, top, faces, _progress(as_json))
    rows = [
        ("samples", report.samples),
        ("added", report.added),
        ("updated", report.updated),
        ("open conflicts", report.conflicts),
    ]
    payload = {k: v for k, v in plain(report).items() if k != "predictions" or v is not None}
    assisted = report.predictions
    if assisted is not None:
        rows += [
            ("predicted", assisted.predicted),
            ("unreadable for the model", assisted.unreadable),
            ("read by", assisted.read_by.replace("_", "-")),
        ]
        rows += [(f"  in the run's {name} split", n) for name, n in sorted(assisted.splits.items())]
        rows += [
            (f"  judged by {name.replace('_', '-')} evidence", n)
            for name, n in sorted(assisted.evidence.items())
        ]
    _emit(as_json, payload, _table(f"FiftyOne dataset {report.dataset}", rows))
    if assisted is not None and not as_json:
        out.print(_suspects(assisted))
    if no_app:
        return
    session = api.launch_app(report.dataset, port, open_browser=not no_browser)
    views = [*review_lib.VIEWS, *(assist.VIEWS if predictions else ())]
    err.print(f"FiftyOne App at {session.url} (saved views: {', '.join(views)}); Ctrl-C to stop")
    with contextlib.suppress(KeyboardInterrupt):
        session.wait(-1)


@app.command(help="Find faces in every kept image (FiftyOne detections); tag images without one no_face.")
@guarded
def faces(
    data: DataOpt = None,
    as_json: JsonOpt = False,
    detector: Annotated[Detector, typer.Option("--detector", help="Face detector.")] = detectors.DEFAULT,
    min_detect: Annotated[
        int,
        typer.Option(
            "--min-detect", min=12, help="Smallest face to look for, in pixels of the searched copy."
        ),
    ] = detectors.MIN_DETECT,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Images searched at once.")
    ] = face_scan.WORKERS,
) -> None:
    report = api.find_faces(resolve_data_dir(data), detector.value, min_detect, workers, _progress(as_json))
    rows = [
        ("kept images", report.images),
        ("searched now", report.searched),
        ("searched before (resumed)", report.resumed),
        ("with a face", report.with_faces),
        ("no face (tagged no_face)", report.no_face),
        ("faces", report.faces),
        ("unreadable", report.unreadable),
    ]
    payload = {**plain(report), "no_face_rate": report.no_face_rate}
    _emit(as_json, payload, _table(f"faces ({report.detector})", rows))


@app.command(help="Write curated class folders and manifest.csv for the trainer.")
@guarded
def export(
    data: DataOpt = None,
    as_json: JsonOpt = False,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Destination (default: <data>/curated, or <data>/curated-faces with --faces)."
        ),
    ] = None,
    faces: Annotated[
        bool, typer.Option("--faces", help="Export face crops (run `curate faces` first).")
    ] = False,
    margin: Annotated[
        float, typer.Option("--margin", min=0.0, max=2.0, help="Crop margin, a share of the face's side.")
    ] = crops.MARGIN,
    min_face: Annotated[
        int, typer.Option("--min-face", min=1, help="Leave out faces smaller than this (pixels).")
    ] = crops.MIN_FACE,
    allow_empty: Annotated[
        bool,
        typer.Option("--allow-empty", help="Replace an earlier export even when nothing is left to export."),
    ] = False,
) -> None:
    report = api.export(resolve_data_dir(data), out_dir, faces, margin, min_face, allow_empty)
    rows = [(f"exported {label}", n) for label, n in sorted(report.per_label.items())]
    rows += [(f"left out: {why}", n) for why, n in report.left_out.most_common()]
    rows.append(("stale files removed", report.removed))
    payload = plain(report)
    _emit(as_json, payload, _table(f"export → {report.out}", rows))


@app.command(help="Counts per label and flag, duplicate groups, conflicts, pending review.")
@guarded
def status(data: DataOpt = None, as_json: JsonOpt = False) -> None:
    payload = api.status(resolve_data_dir(data))
    rows = [(f"label {k}", v) for k, v in payload["labels"].items()]
    rows += [(f"flag {k}", v) for k, v in payload["flags"].items()]
    rows += [(f"looks {k.replace('_', ' ')}", v) for k, v in payload["quality"].items()]
    keys = ("images", "unscanned", "groups", "conflicts", "searched_for_faces", "no_face")
    rows += [(k.replace("_", " "), payload[k]) for k in keys]
    rows.append(("to review (flagged or in a conflict)", payload["pending_review"]))
    rows.append(("reviewed in FiftyOne", "yes" if payload["dataset"] else "not yet"))
    _emit(as_json, payload, _table("workspace", rows))


def main() -> None:
    app(prog_name="curate")
