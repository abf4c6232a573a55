"""A corpus of hostile and odd inputs through the whole loop: collect → scan → dedupe → export →
train → predict → review --predictions. No command may print a traceback; where one cannot go
on it says so in one line with exit 1; every odd file is flagged with a reason; nothing leaves
raw/ or the manifest."""

from __future__ import annotations

import io
import json
import sqlite3
import struct
from pathlib import Path

import numpy as np
from PIL import Image

from tests.conftest import LiveSite, run_cli, run_collect
from tests.curation_data import make_tree
from tests.hostile_checks import clean, raw_digests
from tests.trainer_data import run as run_trainer
from tests.trainer_data import undecodable

ODD = {  # file → how a later stage must treat it: (scan flag or None, training skip or None)
    "happy/lab.tif": ("corrupt", None),
    "sad/palette.bmp": (None, None),  # 8-bit: TensorFlow reads it
    **{f"sad/{name}": ("undecodable", None) for name in undecodable()},  # Pillow reads them, TF does not
    "sad/empty.jpg": ("not_image", None),
    "sad/cmyk.jpg": (None, None),  # odd but fine: converted
    "sad/sixteen-bit.png": (None, None),
    "happy/fraction-exif.jpg": (None, None),
}


def _odd_files(root: Path) -> None:
    Image.new("LAB", (96, 96), (50, 10, 10)).save(root / "happy" / "lab.tif")
    rng = np.random.default_rng(1)  # noise, so that no two odd files are near-duplicates
    for name, payload in undecodable().items():
        (root / "sad" / name).write_bytes(payload)
    Image.fromarray(rng.integers(0, 8, (96, 96), dtype=np.uint8), "P").save(root / "sad" / "palette.bmp")
    (root / "sad" / "empty.jpg").write_bytes(b"")
    Image.fromarray(rng.integers(0, 256, (96, 96, 4), dtype=np.uint8), "CMYK").save(root / "sad" / "cmyk.jpg")
    wide = rng.integers(0, 65535, (96, 96), dtype=np.uint16)
    Image.fromarray(wide).save(root / "sad" / "sixteen-bit.png")
    ifd = struct.pack("<HHHII", 1, 0x0112, 5, 1, 26) + struct.pack("<III", 0, 3, 2)  # orientation 3/2
    buffer = io.BytesIO()
    Image.new("RGB", (96, 96), (200, 10, 10)).save(
        buffer, "JPEG", exif=b"Exif\0\0II*\0" + struct.pack("<I", 8) + ifd
    )
    (root / "happy" / "fraction-exif.jpg").write_bytes(buffer.getvalue())


def _manifest(data: Path) -> list[tuple]:
    with sqlite3.connect(data / "collection.sqlite") as db:
        return db.execute("SELECT url, status, reason, path, sha256 FROM candidates ORDER BY id").fetchall()


def test_hostile_corpus_through_the_whole_loop(live: LiveSite, tmp_path: Path, fiftyone_env):
    data = tmp_path / "ws"
    manifest = _collect_hostile_page(live, data)
    root = tmp_path / "tree"
    make_tree(root)
    _odd_files(root)
    clean(run_cli("curate", "import", str(root), "--json", data=data))
    raw = raw_digests(data)
    by_name = _scanned_with_a_reason_each(data)
    clean(run_cli("curate", "dedupe", "--json", data=data))
    exported = json.loads(clean(run_cli("curate", "export", "--json", data=data)))
    assert exported["exported"] > 10

    run_dir = tmp_path / "run"
    trained = run_trainer(
        "train", str(data / "curated"), "--out", str(run_dir), "--epochs", "1", "--image-size", "32", "--json"
    )
    result = json.loads(clean(trained))
    assert result["skipped"] == {}  # what the trainer cannot read was flagged by scan, never exported
    _odd_files_are_noted_or_scored(run_dir, data, by_name)
    _a_folder_of_nothing_readable_is_one_line(run_dir, tmp_path / "odd-only")
    review = ["curate", "review", "--no-app", "--predictions", str(run_dir), "--json"]
    clean(run_cli(*review, data=data, env=fiftyone_env))

    assert raw_digests(data) == raw  # nothing in raw/ changed or went
    assert _manifest(data) == manifest  # nor in the manifest


def _collect_hostile_page(live: LiveSite, data: Path) -> list[tuple]:
    """Every fault of the fixture site collected: some saved, some filtered, some failed, each
    left out with a reason; the manifest as it stands after."""
    endpoint = f"{live.url}/faults.html"
    options = ["--engine", "page", "--endpoint", endpoint, "--retries", "1", "--timeout", "2", "--json"]
    summary = json.loads(clean(run_collect("hostile", "--label", "happy", *options, data=data)))
    assert summary["ok"] > 0 and summary["filtered"] > 0 and summary["failed"] > 0
    manifest = _manifest(data)
    assert all(reason for _, status, reason, _, _ in manifest if status in ("failed", "filtered"))
    return manifest


def _scanned_with_a_reason_each(data: Path) -> dict:
    """`curate scan` flags each odd file as ODD says, with a reason; the imported rows by file name."""
    clean(run_cli("curate", "scan", "--json", data=data))
    from curation.catalog import Catalog

    with Catalog(data) as catalog:
        by_name = {Path(r["source"] or "").name: r for r in catalog.rows() if r["origin"] == "import"}
    for name, (flag, _) in ODD.items():
        row = by_name[Path(name).name]
        assert row["flag"] == flag, (name, row["flag"], row["reason"])
        if flag:
            assert row["reason"], name
    return by_name


def _odd_files_are_noted_or_scored(run_dir: Path, data: Path, by_name: dict) -> None:
    odd_raw = [
        str(data / row["path"]) for name, row in by_name.items() if name in {Path(n).name for n in ODD}
    ]
    predicted = json.loads(clean(run_trainer("predict", str(run_dir), *odd_raw, "--json")))
    notes = {Path(p["path"]).name: p["error"] for p in predicted}
    assert len(notes) == len(ODD)
    for name, (flag, skip) in ODD.items():
        note = notes[Path(by_name[Path(name).name]["path"]).name]
        assert bool(note) == bool(flag or skip), (name, note)  # unreadable ones say why, the rest are scored


def _a_folder_of_nothing_readable_is_one_line(run_dir: Path, odd_only: Path) -> None:
    for label in ("happy", "sad"):
        (odd_only / label).mkdir(parents=True)
    (odd_only / "happy" / "x.jpg").write_bytes(b"<html>not an image</html>")
    cannot = run_trainer("evaluate", str(run_dir), str(odd_only))
    assert clean(cannot, code=1).strip() == "" and len(cannot.stderr.strip().splitlines()) == 1
