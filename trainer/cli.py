"""`train`, `evaluate`, `predict`: parse, call trainer.*, print."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from happysad.common.cli import DataOpt, JsonOpt, one_line_errors, out
from happysad.common.jsonable import plain
from happysad.common.workspace import CURATED, resolve_data_dir
from trainer import api, face_scoring
from trainer import export as export_lib
from trainer import serve as serve_lib
from trainer.cli_options import (
    ArchOpt,
    BatchSizeOpt,
    CleanLabelsOpt,
    ColorModeOpt,
    CrossFitOpt,
    DataDirArg,
    EpochsOpt,
    FineTuneOpt,
    ImageSizeOpt,
    InitOpt,
    MixedPrecisionOpt,
    OutDirOpt,
    SeedOpt,
    TestDirOpt,
    WholeFrameOpt,
)
from trainer.cli_summary import metrics_table, print_train
from trainer.config import TrainConfig
from trainer.export import Format
from trainer.predict import FACES
from trainer.run import PRIOR

train_app = typer.Typer(add_completion=False)


@train_app.command(help="Train a classifier on a labelled folder tree (default: the curated export).")
@one_line_errors("train", on_interrupt="interrupted; the run was not saved")
def train(
    data_dir: DataDirArg = None,
    out_dir: OutDirOpt = None,
    arch: ArchOpt = None,
    epochs: EpochsOpt = TrainConfig.epochs,
    image_size: ImageSizeOpt = None,
    seed: SeedOpt = TrainConfig.seed,
    batch_size: BatchSizeOpt = TrainConfig.batch_size,
    color_mode: ColorModeOpt = None,
    init: InitOpt = None,
    cross_fit: CrossFitOpt = TrainConfig.cross_fit,
    clean_labels: CleanLabelsOpt = TrainConfig.clean_labels,
    fine_tune: FineTuneOpt = None,
    test_dir: TestDirOpt = None,
    mixed_precision: MixedPrecisionOpt = None,
    whole_frame: WholeFrameOpt = False,
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    source = data_dir or resolve_data_dir(data) / CURATED
    cfg = TrainConfig(
        source,
        out=out_dir,
        arch=arch and arch.value,
        epochs=epochs,
        image_size=image_size,
        seed=seed,
        batch_size=batch_size,
        color_mode=color_mode and color_mode.value,
        test_dir=test_dir,
        mixed_precision=mixed_precision,
        init=init,
        cross_fit=cross_fit,
        clean_labels=clean_labels,
        fine_tune=fine_tune and fine_tune.value,
        whole_frame=whole_frame,
    )
    result = api.train(cfg, progress=False if as_json else None)
    if as_json:
        print(json.dumps(plain(result)))
        return
    print_train(result)


FacesOpt = Annotated[
    bool | None,
    typer.Option(
        "--faces/--no-faces",
        help="Find the faces, classify each; a picture's label is their area-weighted mean "
        "(default: on for runs trained on face crops and for prior; "
        "--no-faces: each image is already one face crop).",
    ),
]


def _inside(data: Path | None, path: str) -> str:
    """With --data, a relative path names something in the workspace (runs/latest, curated, raw/...)."""
    if data is None or Path(path).is_absolute() or path == PRIOR:
        return path
    return str(resolve_data_dir(data) / path)


evaluate_app = typer.Typer(add_completion=False)


@evaluate_app.command(
    help="Score a run (or model.keras) on a labelled folder tree; "
    "with --data, relative paths are read in the workspace."
)
@one_line_errors("evaluate")
def evaluate(
    run_dir: Annotated[Path, typer.Argument(help="Run directory or its model.keras.")],
    data_dir: Annotated[Path, typer.Argument(help="<label>/<images> tree.")],
    faces: FacesOpt = None,
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    run_dir, data_dir = Path(_inside(data, str(run_dir))), Path(_inside(data, str(data_dir)))
    result = api.evaluate(api.load(run_dir), data_dir, faces)
    if as_json:
        print(json.dumps(result))
        return
    out.print(metrics_table(f"{run_dir} on {data_dir}", {"evaluation": result}))
    if result["skipped"]:
        reasons = ", ".join(f"{why} {n}" for why, n in sorted(result["skipped"].items()))
        out.print(f"skipped {sum(result['skipped'].values())} unreadable ({reasons}): not scored")
    if result.get("read_by") == FACES:
        filed = ", ".join(f"{n} {label}" for label, n in result["abstained_filed_as"].items())
        out.print(
            f"read by faces: {result['coverage']:.0%} of the {result['images']} images scored; "
            f"{result['abstained']:.0%} abstained (no face found: {filed or 'none'})"
        )
    if "warning" in result:
        out.print(f"[yellow]{result['warning']}[/yellow]")


predict_app = typer.Typer(add_completion=False)


@predict_app.command(
    help="Label and probability for each image (files, folders or globs); "
    "with --data, relative paths are read in the workspace."
)
@one_line_errors("predict")
def predict(
    run_dir: Annotated[Path, typer.Argument(help="Run directory or its model.keras.")],
    paths: Annotated[list[str], typer.Argument(help="Images, folders or glob patterns.")],
    faces: FacesOpt = None,
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    run_dir, paths = Path(_inside(data, str(run_dir))), [_inside(data, p) for p in paths]
    results = api.predict(api.load(run_dir), paths, faces)
    faces = any(r.read_by == FACES for r in results)
    if as_json:
        print(json.dumps([plain(r) for r in results]))
        return
    table = Table(title=f"predictions of {run_dir}", title_justify="left")
    for column in ("image", "label", "probability", *(("faces",) if faces else ()), "note"):
        table.add_column(column)
    for r in results:
        per_face = [f"{f.label} {f.probability:.2f}" for f in r.faces or []]
        table.add_row(
            r.path,
            r.label or "-",
            f"{r.probability:.3f}" if r.probability is not None else "-",
            *(("; ".join(per_face),) if faces else ()),
            r.error or "",
        )
    out.print(table)


export_model_app = typer.Typer(add_completion=False)


@export_model_app.command(
    "export-model",
    help="Write a run's model for other runtimes: a SavedModel that reads encoded images and "
    "preprocesses them inside (TensorFlow Serving), or a .tflite of the classifier for phones.",
)
@one_line_errors("export-model")
def export(
    run_dir: Annotated[Path, typer.Argument(help="Run directory, its model.keras, or prior.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write (replaced whole if it exists).")],
    fmt: Annotated[Format, typer.Option("--format", help="What to write.")] = Format.savedmodel,
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    done = api.export_model(api.load(_inside(data, str(run_dir))), out_dir, fmt)
    if as_json:
        print(json.dumps(plain(done)))
        return
    out.print(
        f"{done.format} of {done.run} → {out_dir} ({done.bytes / 1e6:.1f} MB; {export_lib.DESCRIPTION} says "
        "what goes in and out)"
    )


serve_app = typer.Typer(add_completion=False)


@serve_app.command(
    help="Serve a run's model over HTTP: POST /predict (an image, or a form of `image` files), "
    "GET /healthz, and a page at / to drop photos on."
)
@one_line_errors("serve", on_interrupt="stopped")
def serve(
    run_dir: Annotated[Path, typer.Argument(help="Run directory, its model.keras, or prior.")],
    host: Annotated[
        str,
        typer.Option("--host", help="Address to listen on (0.0.0.0: every network, not only this machine)."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8000,
    max_bytes: Annotated[
        int, typer.Option("--max-bytes", min=1, help="Largest upload accepted (413 above).")
    ] = serve_lib.MAX_BYTES,
    queue: Annotated[
        int, typer.Option("--queue", min=1, help="Images in the house at most; beyond, 503 with Retry-After.")
    ] = serve_lib.Settings.queue,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="Seconds a client may take to send its request (408).")
    ] = serve_lib.Settings.read_timeout,
    max_wait: Annotated[
        float,
        typer.Option(
            "--max-wait",
            min=0.01,
            help="Longest a picture waits for its turn to be read (a burst is queued and answered); "
            "beyond, 503 with Retry-After.",
        ),
    ] = serve_lib.Settings.max_wait,
    faces: FacesOpt = None,
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    from trainer import serve_runner

    serve_runner.claim(host, port)
    run = api.load(_inside(data, str(run_dir)))
    reading = face_scoring.reads_faces(run, faces, [])
    settings = serve_lib.Settings(max_bytes=max_bytes, queue=queue, read_timeout=timeout, max_wait=max_wait)
    application = serve_lib.app(serve_lib.Server(run, settings, reading))
    url = f"http://{host}:{port}"

    def announce() -> None:  # once the port is bound: a busy port says only that it is busy
        if as_json:
            print(json.dumps({"run": str(run.path), "url": url, "faces": reading}), flush=True)
            return
        where = (
            "this machine only" if host in ("127.0.0.1", "localhost", "::1") else f"every network on {host}"
        )
        out.print(f"serving {run.path} at {url} ({where}; --host to change); Ctrl-C stops", soft_wrap=True)

    serve_runner.run(application, host, port, timeout, announce)


def train_main() -> None:
    train_app(prog_name="train")


def evaluate_main() -> None:
    evaluate_app(prog_name="evaluate")


def predict_main() -> None:
    predict_app(prog_name="predict")


def export_model_main() -> None:
    export_model_app(prog_name="export-model")


def serve_main() -> None:
    serve_app(prog_name="serve")
