"""A corpus of hostile and odd inputs through the whole loop: collect → scan → dedupe → export →
train → predict → review --predictions. No command may print a traceback; where one cannot go
on it says so in one line with exit 1; every odd file is flagged with a reason; nothing leaves
raw/ or the manifest."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import LiveSite, run_cli, run_collect
from tests.curation_data import make_tree
from tests.test_trainer import run as run_trainer
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


def _raw(data: Path) -> dict[str, str]:
    return {str(p.relative_to(data)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (data / "raw").rglob("*") if p.is_file()}  # fmt: skip


def _manifest(data: Path) -> list[tuple]:
    with sqlite3.connect(data / "collection.sqlite") as db:
        return db.execute("SELECT url, status, reason, path, sha256 FROM candidates ORDER BY id").fetchall()


def _clean(result, *, code: int = 0) -> str:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr[-3000:]
    assert result.returncode == code, result.stderr[-3000:]
    return result.stdout


def test_hostile_corpus_through_the_whole_loop(live: LiveSite, tmp_path: Path, fiftyone_env):
    data = tmp_path / "ws"
    collected = run_collect("hostile", "--label", "happy", "--engine", "page", "--endpoint",
                            f"{live.url}/faults.html", "--retries", "1", "--timeout", "2", "--json", data=data)  # fmt: skip
    summary = json.loads(_clean(collected))
    assert summary["ok"] > 0 and summary["filtered"] > 0 and summary["failed"] > 0
    manifest = _manifest(data)
    assert all(reason for _, status, reason, _, _ in manifest if status in ("failed", "filtered"))

    root = tmp_path / "tree"
    make_tree(root)
    _odd_files(root)
    _clean(run_cli("curate", "import", str(root), "--json", data=data))
    raw = _raw(data)

    _clean(run_cli("curate", "scan", "--json", data=data))
    from curation.catalog import Catalog

    with Catalog(data) as catalog:
        by_name = {Path(r["source"] or "").name: r for r in catalog.rows() if r["origin"] == "import"}
    for name, (flag, _) in ODD.items():
        row = by_name[Path(name).name]
        assert row["flag"] == flag, (name, row["flag"], row["reason"])
        if flag:
            assert row["reason"], name  # flagged with a reason

    _clean(run_cli("curate", "dedupe", "--json", data=data))
    exported = json.loads(_clean(run_cli("curate", "export", "--json", data=data)))
    assert exported["exported"] > 10

    run_dir = tmp_path / "run"
    trained = run_trainer("train", str(data / "curated"), "--out", str(run_dir), "--epochs", "1",
                          "--image-size", "32", "--json")  # fmt: skip
    result = json.loads(_clean(trained))
    assert result["skipped"] == {}  # what the trainer cannot read was flagged by scan, never exported

    odd_raw = [
        str(data / row["path"]) for name, row in by_name.items() if name in {Path(n).name for n in ODD}
    ]
    predicted = json.loads(_clean(run_trainer("predict", str(run_dir), *odd_raw, "--json")))
    notes = {Path(p["path"]).name: p["error"] for p in predicted}
    assert len(notes) == len(ODD)
    for name, (flag, skip) in ODD.items():
        note = notes[Path(by_name[Path(name).name]["path"]).name]
        assert bool(note) == bool(flag or skip), (name, note)  # unreadable ones say why, the rest are scored

    odd_only = tmp_path / "odd-only"
    for label in ("happy", "sad"):
        (odd_only / label).mkdir(parents=True)
    (odd_only / "happy" / "x.jpg").write_bytes(b"<html>not an image</html>")
    cannot = run_trainer("evaluate", str(run_dir), str(odd_only))
    assert (
        len(_clean(cannot, code=1).strip().splitlines()) == 0 and len(cannot.stderr.strip().splitlines()) == 1
    )

    _clean(run_cli("curate", "review", "--no-app", "--predictions", str(run_dir), "--json", data=data,
                   env=fiftyone_env))  # fmt: skip

    assert _raw(data) == raw  # nothing in raw/ changed or went
    assert _manifest(data) == manifest  # nor in the manifest


def _predict_peak(*args: str) -> tuple[int, list[dict]]:
    """`predict` in a fresh process: its peak resident memory (MB) and its answers."""
    code = (
        "import json, resource, sys\n"
        "from trainer.cli import predict_main\n"
        "try:\n    predict_main()\n"
        "finally:\n    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, *args, "--json"], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "NO_COLOR": "1"})  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return int(done.stderr.strip().splitlines()[-1]), json.loads(done.stdout)


def test_an_animated_gif_costs_one_frame_and_odd_files_are_judged_before_reading(tmp_path: Path):
    """3,000 frames decoded whole are 1.4 GB (TensorFlow's GIF decoder does that): predict reads
    the first frame only. A FIFO named .jpg and a link to /dev/zero are refused unread."""
    frames = [Image.new("L", (400, 400), shade) for shade in (30, 220)] * 1500
    frames[0].save(tmp_path / "long.gif", save_all=True, append_images=frames[1:])
    frames[0].save(tmp_path / "still.gif")
    os.mkfifo(tmp_path / "fifo.jpg")
    (tmp_path / "zero.jpg").symlink_to("/dev/zero")
    odd = [str(tmp_path / n) for n in ("fifo.jpg", "zero.jpg")]
    still, _ = _predict_peak("prior", str(tmp_path / "still.gif"), "--no-faces")
    long, answers = _predict_peak("prior", str(tmp_path / "long.gif"), *odd, "--no-faces")
    _, read_for_faces = _predict_peak("prior", *odd)  # a face model looks at the files first: unread too
    assert [a["error"] for a in read_for_faces] == ["not a regular file"] * 2
    assert long - still < 300, (still, long)
    assert answers[0]["label"] in ("happy", "sad")
    assert [a["error"] for a in answers[1:]] == ["not a regular file"] * 2


def test_urls_only_writes_what_was_read_when_the_page_stops_loading(live: LiveSite, tmp_path: Path):
    """The page's HTML was read (and its candidates found) before the browser's load failed:
    they are written, with a note, instead of lost."""
    out = tmp_path / "candidates.parquet"
    result = run_collect("page", "--engine", "page", "--endpoint", f"{live.url}/stops-loading.html",
                         "--limit", "100", "--urls-only", str(out), "--json", data=tmp_path / "ws")  # fmt: skip
    summary = json.loads(_clean(result))
    assert summary["candidates"] >= 7 and "503" in summary["stopped"]
    import pyarrow.parquet as pq

    assert pq.read_table(out).num_rows == summary["candidates"]


@pytest.mark.parametrize(
    "change",
    [{"labels": ["happy"]}, {"labels": "happy"}, {"labels": ["happy", "../sad"]}, {"image_size": -1},
     {"image_size": 0}, {"image_size": "big"}, {"image_size": 100000}, {"threshold": None},
     {"color_mode": "cmyk"}, {"arch": "lambda"}, {"labels": ["happy", "sad", "calm"]}, "padded model"],
)  # fmt: skip
def test_a_crafted_run_folder_is_one_line_never_a_traceback(tmp_path: Path, change):
    """A run folder is untrusted input: each bad setting is refused by name, in one line."""
    import shutil
    import zipfile

    from trainer.run import PRIOR_DIR

    run = tmp_path / "run"
    shutil.copytree(PRIOR_DIR, run)
    config = json.loads((run / "config.json").read_text())
    if change == "padded model":  # the architecture inside model.keras, padded to 2 MB
        with (
            zipfile.ZipFile(PRIOR_DIR / "model.keras") as original,
            zipfile.ZipFile(run / "model.keras", "w") as out,
        ):
            for item in original.infolist():
                body = original.read(item)
                out.writestr(item, body + b" " * 2 * 2**20 if item.filename == "config.json" else body)
    else:
        (run / "config.json").write_text(json.dumps(config | change))
    Image.new("L", (48, 48), 128).save(tmp_path / "face.png")
    result = run_trainer("predict", str(run), str(tmp_path / "face.png"), "--no-faces")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("predict: error: ")


def test_options_out_of_range_are_refused_at_once(tmp_path: Path):
    """No silent hours: an absurd size or fold count, or a port that cannot be, ends at once."""
    from tests.trainer_data import make_tree as faces_tree

    data = faces_tree(tmp_path / "d", per_label=6)
    huge = run_trainer("train", str(data), "--image-size", "100000")
    assert huge.returncode == 2 and "--image-size" in huge.stderr
    folds = run_trainer(
        "train", str(data), "--out", str(tmp_path / "r"), "--cross-fit", "1000", "--epochs", "1"
    )
    assert folds.returncode == 1 and "too few images" in folds.stderr, folds.stderr[-2000:]
    assert not (tmp_path / "r").exists()
    port = run_cli("curate", "review", "--port", "70000", data=tmp_path / "ws")
    assert port.returncode == 2 and "--port" in port.stderr and "Traceback" not in port.stderr


def test_a_workspace_inside_another_workspaces_raw_is_refused(live: LiveSite, tmp_path: Path):
    data = tmp_path / "ws"
    make_tree(tmp_path / "tree")
    _clean(run_cli("curate", "import", str(tmp_path / "tree"), data=data))
    raw = _raw(data)
    inside = data / "raw" / "happy" / "nested"
    result = run_collect("x", "--endpoint", f"{live.url}/images/search", "--limit", "1", data=inside)
    assert result.returncode == 1 and "inside the raw/ of the workspace" in result.stderr
    assert _raw(data) == raw and not inside.exists()


@pytest.mark.skipif(shutil.which("mount") is None, reason="needs mount")
def test_a_full_disk_during_train_is_one_line_and_leaves_nothing_behind(tmp_path: Path):
    from tests.trainer_data import make_tree as faces_tree

    data = faces_tree(tmp_path / "d", per_label=10)
    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(small)]).returncode:
        pytest.skip("cannot mount a small tmpfs here (not root?)")
    try:
        result = run_trainer("train", str(data), "--out", str(small / "run"), "--arch", "seed", "--epochs", "1",
                             "--image-size", "32")  # fmt: skip
        (line,) = result.stderr.strip().splitlines()
        assert result.returncode == 1 and "No space left on device" in line
        assert list(small.iterdir()) == []  # no half-built run, no lock
    finally:
        subprocess.run(["umount", str(small)])


def test_a_run_file_naming_a_fifo_is_not_read(tmp_path: Path):
    """split.csv names the files a run read; one that is now a FIFO is skipped, not waited on."""
    from curation.assist import _sha256

    os.mkfifo(tmp_path / "pipe.jpg")
    (tmp_path / "real.jpg").write_bytes(b"bytes")
    assert _sha256(tmp_path / "pipe.jpg") is None
    assert _sha256(tmp_path / "real.jpg") == hashlib.sha256(b"bytes").hexdigest()
