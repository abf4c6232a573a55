"""The third audit of hostile input, a test each: a model export that would replace what it
did not write, reviews at once on one workspace and on two, run files nested or shaped to crash
a reader, a full disk under TensorFlow's writer and under an export, `--json` on failure, FIFOs
in an import and in a run, and a library's warning in a table (malformed, slow and oversized
requests to `serve`, and a busy port: tests/test_serve.py). (tests/test_hostile_earlier.py has
the first two audits, and the third's robots.txt redirected to a name that resolves inward.)"""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import _free_port, curate_json, run_cli
from tests.curation_data import make_tree
from tests.hostile_checks import clean, one_line, raw_digests, small_disk
from tests.trainer_data import QUICK, in_one_process
from tests.trainer_data import run as run_trainer


def _tiny_tree(root: Path) -> Path:
    from tests.trainer_data import make_tree as faces_tree

    return faces_tree(root, per_label=6)


def _export_model(*args: str):
    return run_trainer("export-model", "prior", "--format", "tflite", *args)


def test_the_model_export_replaces_only_an_earlier_export_of_its_own(tmp_path: Path):
    """--out is replaced whole, so it must be new, empty or an earlier model export (its
    happysad.json): a folder of other files, a file, a run, a workspace are refused untouched."""
    from trainer.run import PRIOR_DIR

    others = tmp_path / "others"
    others.mkdir()
    (others / "notes.txt").write_text("mine")
    a_file = tmp_path / "a-file"
    a_file.write_text("mine")
    run = tmp_path / "run"
    shutil.copytree(PRIOR_DIR, run)
    workspace = tmp_path / "ws"
    make_tree(tmp_path / "tree")
    curate_json("import", str(tmp_path / "tree"), data=workspace)
    raw = raw_digests(workspace)
    for target in (others, a_file, run, workspace):
        before = sorted(p.relative_to(tmp_path) for p in target.rglob("*")) if target.is_dir() else "file"
        line = one_line(_export_model("--out", str(target)))
        assert line.startswith("export-model: error: ") and "not an earlier model export" in line, line
        assert (
            sorted(p.relative_to(tmp_path) for p in target.rglob("*")) if target.is_dir() else "file"
        ) == before
    assert (others / "notes.txt").read_text() == a_file.read_text() == "mine"
    assert (run / "model.keras").is_file() and raw_digests(workspace) == raw
    (tmp_path / "empty").mkdir()
    for target in (tmp_path / "empty", tmp_path / "new", tmp_path / "new"):  # new, then its own again
        assert clean(_export_model("--out", str(target)))
        assert (target / "model.tflite").is_file() and (target / "happysad.json").is_file()


def test_two_reviews_at_once_build_one_dataset_and_a_doubled_one_is_folded(tmp_path, fiftyone_env):
    """Two `curate review` on one workspace, beside a third on another: one sync after the
    other, each file once, and two datasets created at once both succeed, each printing one
    JSON value alone. A dataset two syncs once doubled is folded, every copy's decision kept:
    the reject and the relabel."""
    from curation.database import fiftyone
    from curation.review import dataset_name

    data, other_data = tmp_path / "ws", tmp_path / "other-ws"
    make_tree(tmp_path / "tree")
    make_tree(tmp_path / "other-tree")
    images = curate_json("import", str(tmp_path / "tree"), data=data)["added"]
    other = curate_json("import", str(tmp_path / "other-tree"), data=other_data)["added"]
    command = "from curation.cli import main; main()"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", command, "review", "--no-app", "--json", "--data", str(workspace)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **fiftyone_env},
        )
        for workspace in (data, data, other_data)
    ]
    reports = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr[-2000:]
        reports.append(json.loads(stdout))  # one JSON value, nothing else
    *same, beside = reports
    assert sorted(r["added"] for r in same) == [0, images] and {r["samples"] for r in same} == {images}
    assert beside["added"] == beside["samples"] == other and beside["dataset"] != same[0]["dataset"]

    os.environ.update(fiftyone_env)
    dataset = fiftyone().load_dataset(dataset_name(data))
    dataset.create_index("filepath", unique=False, force=True)  # as an older version left it
    first = dataset.first()
    copy = first.copy()
    copy.tags = [*copy.tags, "reject"]
    dataset.add_sample(copy)
    other = "sad" if first.ground_truth.label == "happy" else "happy"
    first.ground_truth.label = other
    first.save()
    assert len(dataset) == images + 1
    assert curate_json("review", "--no-app", data=data)["samples"] == images
    dataset.reload()
    (kept,) = dataset.match({"filepath": first.filepath})
    assert kept.ground_truth.label == other and "reject" in kept.tags
    with pytest.raises(Exception, match=r"(?i)duplicate"):  # the database refuses a second copy
        dataset.add_sample(kept.copy())


NESTED = "[" * 100_000 + "]" * 100_000  # 200 KB, under the size cap, past Python's recursion limit


def test_a_config_json_nested_too_deep_is_one_line_everywhere(tmp_path: Path, fiftyone_env):
    """Each command in a process of its own, as a user runs it: how deep the parser may go
    depends on the stack it starts from."""
    from trainer.run import PRIOR_DIR

    run = tmp_path / "run"
    shutil.copytree(PRIOR_DIR, run)
    (run / "config.json").write_text(NESTED)
    Image.new("L", (48, 48), 128).save(tmp_path / "face.png")
    data = _tiny_tree(tmp_path / "d")
    curate_json("import", str(tmp_path / "d"), data=tmp_path / "ws")
    commands = [
        ("predict", str(run), str(tmp_path / "face.png")),
        ("evaluate", str(run), str(data)),
        ("export_model", str(run), "--out", str(tmp_path / "out")),
        ("serve", str(run), "--port", str(_free_port())),
    ]
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    results = [
        subprocess.run(
            [sys.executable, "-c", f"from trainer.cli import {name}_main as m; m()", *args],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        for name, *args in commands
    ]
    review = run_cli(
        "curate",
        "review",
        "--no-app",
        "--predictions",
        str(run),
        data=tmp_path / "ws",
        env=fiftyone_env,
        timeout=600,
    )
    # the review refuses the run before it builds the dataset: one line, and no dataset
    assert curate_json("status", data=tmp_path / "ws")["dataset"] is None
    for line in [one_line(result) for result in [*results, review]]:
        assert "config.json is unreadable" in line and "recursion" in line, line


@pytest.mark.parametrize("crafted", ["config a list", "test figures a list"])
def test_a_crafted_run_beside_trains_out_is_passed_over(tmp_path: Path, crafted):
    from trainer.run import PRIOR_DIR

    data = _tiny_tree(tmp_path / "d")
    beside = tmp_path / "runs" / "crafted"
    shutil.copytree(PRIOR_DIR, beside)
    config = json.loads((beside / "config.json").read_text()) | {"data_dir": str(data)}
    if crafted == "config a list":
        (beside / "config.json").write_text("[1, 2, 3]")
        (beside / "metrics.json").write_text(json.dumps({"test": {"accuracy": 0.5}}))
    else:
        (beside / "config.json").write_text(json.dumps(config))
        (beside / "metrics.json").write_text(json.dumps({"test": [1, 2, 3]}))
    result = run_trainer(
        "train",
        str(data),
        "--out",
        str(tmp_path / "runs" / "mine"),
        *QUICK,
        "--json",
    )
    assert json.loads(clean(result))["compared_to"] is None


def test_a_full_disk_during_the_savedmodel_export_is_one_line_and_keeps_the_last(tmp_path: Path):
    with small_disk(tmp_path / "small", "400k") as small:
        earlier = small / "exported"
        earlier.mkdir()
        (earlier / "happysad.json").write_text("{}")  # an earlier export's marker
        line = one_line(run_trainer("export-model", "prior", "--out", str(earlier), "--format", "savedmodel"))
        assert line.startswith("export-model: error: ") and "No space left on device" in line, line
        assert [p.name for p in small.iterdir()] == ["exported"]  # nothing half-written beside it
        assert [p.name for p in earlier.iterdir()] == ["happysad.json"]


def test_curate_export_onto_a_full_disk_names_the_destination(tmp_path: Path):
    with small_disk(tmp_path / "small", "64k") as small:
        data = tmp_path / "ws"
        make_tree(tmp_path / "tree")
        for step in (("import", str(tmp_path / "tree")), ("scan",), ("dedupe",)):
            curate_json(*step, data=data)
        line = one_line(run_cli("curate", "export", "--out", str(small / "curated"), data=data))
        assert "No space left on device" in line and str(small) in line and "/raw/" not in line, line


def test_json_on_failure_is_one_json_value_beside_the_line(tmp_path: Path):
    missing = run_cli("curate", "scan", "--json", data=tmp_path / "nonexistent")
    line = one_line(missing)
    assert json.loads(missing.stdout) == {"error": line.removeprefix("curate: error: "), "exit": 1}
    (tmp_path / "broken").mkdir()
    broken = run_trainer("predict", str(tmp_path / "broken"), str(tmp_path), "--json")
    line = one_line(broken)
    assert json.loads(broken.stdout) == {"error": line.removeprefix("predict: error: "), "exit": 1}


def test_import_lists_fifos_and_device_links_as_skipped(tmp_path: Path):
    make_tree(tmp_path / "tree")
    os.mkfifo(tmp_path / "tree" / "happy" / "pipe.jpg")
    (tmp_path / "tree" / "sad" / "zero.jpg").symlink_to("/dev/zero")
    report = curate_json("import", str(tmp_path / "tree"), data=tmp_path / "ws")
    skipped = {Path(path).name: why for path, why in report["skipped"].items()}
    assert skipped == {"pipe.jpg": "not a regular file", "zero.jpg": "a link out of the imported folder"}


def test_a_split_csv_that_is_a_fifo_is_said_in_one_line(tmp_path: Path, fiftyone_env):
    from trainer.run import PRIOR_DIR

    run = tmp_path / "run"
    shutil.copytree(PRIOR_DIR, run)
    os.mkfifo(run / "split.csv")
    make_tree(tmp_path / "tree")
    curate_json("import", str(tmp_path / "tree"), data=tmp_path / "ws")
    result = run_cli(
        "curate",
        "review",
        "--no-app",
        "--predictions",
        str(run),
        "--no-faces",
        data=tmp_path / "ws",
        env=fiftyone_env,
        timeout=600,
    )
    line = one_line(result)  # refused before the dataset is built: no line of FiftyOne's before it
    assert line.startswith("curate: error: ") and "split.csv is not a regular file" in line, line
    assert curate_json("status", data=tmp_path / "ws")["dataset"] is None


def test_evaluate_names_what_it_skipped_and_a_librarys_warning_never_interrupts(tmp_path: Path):
    data = _tiny_tree(tmp_path / "d")
    (data / "sad" / "empty.jpg").write_bytes(b"")
    ifd = struct.pack("<H", 1) + struct.pack("<HHII", 40095, 1, 5000, 26) + struct.pack("<I", 0)
    buffer = io.BytesIO()  # an EXIF tag whose data runs past the file: Pillow warns about it
    Image.new("RGB", (48, 48), (200, 10, 10)).save(
        buffer, "JPEG", exif=b"Exif\0\0II*\0" + struct.pack("<I", 8) + ifd
    )
    (data / "happy" / "broken-exif.jpg").write_bytes(buffer.getvalue())
    # both in one fresh process, where pytest catches no warning: a warning either would print
    # reaches stderr; one both would print, the first prints
    done = in_one_process(
        ("evaluate", "prior", str(data), "--no-faces"),
        ("predict", "prior", str(data / "happy" / "broken-exif.jpg"), "--no-faces"),
        env={"COLUMNS": "200"},
    )
    assert done.returncode == 0 and "Warning" not in done.stderr + done.stdout, done.stderr[-2000:]
    evaluated, _, predicted = " ".join(done.stdout.split()).partition("skipped 1 unreadable")
    assert evaluated and "broken-exif.jpg" in predicted, done.stdout  # predict's table follows
