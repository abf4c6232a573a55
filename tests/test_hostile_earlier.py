"""Audits one and two (tests/test_hostile.py has the third; tests/test_hostile_corpus.py runs
their corpus through the whole loop): each hostile case the audits found, a test each: files
only TensorFlow refuses, endless or huge files, crafted runs, another database, a full disk,
redirects inward (to an address, and to a name that resolves inward), slow and absurd requests,
a second build beside a running one, a kill mid-write."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from aiohttp import web
from PIL import Image

from collector import addresses
from tests.conftest import LiveSite, curate_json, loopback_app, run_cli, run_collect
from tests.curation_data import make_tree
from tests.hostile_checks import clean, fetch_behind_robots, one_line, raw_digests, small_disk
from tests.trainer_data import QUICK, in_one_process, peaks, run_json
from tests.trainer_data import run as run_trainer


def test_an_animated_gif_costs_one_frame_and_odd_files_are_judged_before_reading(tmp_path: Path):
    """3,000 frames decoded whole are 0.8 GB (TensorFlow's GIF decoder does that): predict reads
    the first frame only. A FIFO named .jpg and a link to /dev/zero are refused unread."""
    frames = [Image.new("L", (300, 300), shade) for shade in (30, 220)] * 1500
    # optimize=False: each frame whole, as drawn (Pillow wrote it in 1.1 s against 3.9 s optimized)
    frames[0].save(tmp_path / "long.gif", save_all=True, append_images=frames[1:], optimize=False)
    frames[0].save(tmp_path / "still.gif")
    os.mkfifo(tmp_path / "fifo.jpg")
    (tmp_path / "zero.jpg").symlink_to("/dev/zero")
    odd = [str(tmp_path / n) for n in ("fifo.jpg", "zero.jpg")]
    # the still first: the long one's peak is then what its frames add to a started TensorFlow
    done = in_one_process(
        ("predict", "prior", str(tmp_path / "still.gif"), "--no-faces", "--json"),
        ("predict", "prior", str(tmp_path / "long.gif"), *odd, "--no-faces", "--json"),
    )
    assert done.returncode == 0, done.stderr[-2000:]
    still, long = peaks(done)
    answers = json.loads(done.stdout.strip().splitlines()[-1])
    read_for_faces = run_json("predict", "prior", *odd)  # a face model looks at the files first: unread too
    assert [a["error"] for a in read_for_faces] == ["not a regular file"] * 2
    assert long - still < 300, (still, long)
    assert answers[0]["label"] in ("happy", "sad")
    assert [a["error"] for a in answers[1:]] == ["not a regular file"] * 2


def test_urls_only_writes_what_was_read_when_the_page_stops_loading(live: LiveSite, tmp_path: Path):
    """The page's HTML was read (and its candidates found) before the browser's load failed:
    they are written, with a note, instead of lost."""
    out = tmp_path / "candidates.parquet"
    result = run_collect(
        "page",
        "--engine",
        "page",
        "--endpoint",
        f"{live.url}/stops-loading.html",
        "--limit",
        "100",
        "--urls-only",
        str(out),
        "--json",
        data=tmp_path / "ws",
    )
    summary = json.loads(clean(result))
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
    clean(run_cli("curate", "import", str(tmp_path / "tree"), data=data))
    raw = raw_digests(data)
    inside = data / "raw" / "happy" / "nested"
    result = run_collect("x", "--endpoint", f"{live.url}/images/search", "--limit", "1", data=inside)
    assert result.returncode == 1 and "inside the raw/ of the workspace" in result.stderr
    assert raw_digests(data) == raw and not inside.exists()


def test_a_full_disk_during_train_is_one_line_and_leaves_nothing_behind(tmp_path: Path):
    from tests.trainer_data import make_tree as faces_tree

    data = faces_tree(tmp_path / "d", per_label=10)
    with small_disk(tmp_path / "small", "300k") as small:
        result = run_trainer(
            "train",
            str(data),
            "--out",
            str(small / "run"),
            *QUICK,
        )
        (line,) = result.stderr.strip().splitlines()
        assert result.returncode == 1 and "No space left on device" in line
        assert list(small.iterdir()) == []  # no half-built run, no lock


def test_a_run_file_naming_a_fifo_is_not_read(tmp_path: Path):
    """split.csv names the files a run read; one that is now a FIFO is skipped, not waited on."""
    from happysad.common.images import file_sha256

    os.mkfifo(tmp_path / "pipe.jpg")
    (tmp_path / "real.jpg").write_bytes(b"bytes")
    assert file_sha256(tmp_path / "pipe.jpg") is None
    assert file_sha256(tmp_path / "real.jpg") == hashlib.sha256(b"bytes").hexdigest()


def test_a_database_service_of_another_directory_is_refused(tmp_path, fiftyone_env):
    """FiftyOne attaches to the mongod already running (the tests' own, for fiftyone_env's
    directory) whatever FIFTYONE_DATABASE_DIR says: a command configured for another directory
    stops before writing, naming both."""
    other = tmp_path / "other-db"
    (tmp_path / "ws").mkdir()
    env = {**fiftyone_env, "FIFTYONE_DATABASE_DIR": str(other)}
    result = run_cli("curate", "review", "--no-app", "--json", data=tmp_path / "ws", env=env)
    assert result.returncode == 1, result.stderr[-2000:]
    (line,) = result.stderr.strip().splitlines()
    assert json.loads(result.stdout) == {"error": line.removeprefix("curate: error: "), "exit": 1}
    assert fiftyone_env["FIFTYONE_DATABASE_DIR"] in line and str(other) in line
    assert line.startswith("curate: error: FiftyOne reached a database service that keeps its data in")


def test_a_robots_txt_redirect_to_a_non_public_address_is_never_followed(monkeypatch):
    """robots.txt is fetched under the same guard as images: a public host (127.0.0.1 here)
    whose robots.txt redirects to an internal one (a server of ours on 127.0.0.2) gets no
    request sent there; its rules are then unknown, so its images are not fetched."""
    real = addresses.kind_of
    monkeypatch.setattr(addresses, "kind_of", lambda a: None if a == "127.0.0.1" else real(a))
    internal_hits: list[str] = []

    async def internal(request: web.Request) -> web.Response:
        internal_hits.append(request.path)
        return web.Response(text="User-agent: *\nAllow: /\n")

    async def fetch() -> str:
        async with loopback_app({"/robots.txt": internal}, host="127.0.0.2") as inside:
            return await fetch_behind_robots(f"{inside}/robots.txt")

    assert asyncio.run(fetch()) == "disallowed by robots.txt"
    assert internal_hits == []


def test_a_robots_txt_redirect_to_a_name_resolving_inward_disallows(monkeypatch):
    """A robots.txt hop to a *name* that resolves to a non-public address is refused by the
    resolver; its rules are then unknown, so the site's images are not fetched (no address
    inward is connected to: the resolver is fed the answer)."""
    real = addresses.kind_of
    monkeypatch.setattr(addresses, "kind_of", lambda a: None if a == "127.0.0.1" else real(a))

    class Resolver(addresses.DefaultResolver):
        async def resolve(self, host, port=0, family=0):
            if host == "inside.example":
                return [
                    {"hostname": host, "host": "10.0.0.7", "port": port, "family": 2, "proto": 0, "flags": 0}
                ]
            return await super().resolve(host, port, family)

    monkeypatch.setattr(addresses, "DefaultResolver", Resolver)
    assert asyncio.run(fetch_behind_robots("http://inside.example/robots.txt")) == "disallowed by robots.txt"


def test_predictions_a_killed_review_left_half_written_are_cleared_by_the_next(tmp_path, fiftyone_env):
    """`review --predictions` marks the dataset while it writes its fields; killed there (the
    fields would hold two runs' predictions), the next review clears them whole."""
    from curation.assist import FROM, PREDICTION, WRITING

    os.environ.update(fiftyone_env)
    from curation.database import fiftyone

    fo = fiftyone()
    make_tree(tmp_path / "tree")
    data = tmp_path / "ws"
    curate_json("import", str(tmp_path / "tree"), data=data)
    dataset = fo.load_dataset(curate_json("review", "--no-app", data=data, env=fiftyone_env)["dataset"])
    ids = dataset.values("id")
    half = {sid: fo.Classification(label="happy", confidence=0.9) for sid in ids[: len(ids) // 2]}
    dataset.set_values(PREDICTION, half, key_field="id")
    dataset.info |= {WRITING: "/runs/new", FROM: "/runs/old"}
    dataset.save()
    curate_json("review", "--no-app", data=data, env=fiftyone_env)
    dataset.reload()
    assert WRITING not in dataset.info and FROM not in dataset.info
    assert set(dataset.values(PREDICTION)) == {None}


def test_a_second_build_of_the_same_folder_is_refused_while_the_first_runs(tmp_path: Path):
    from happysad.common.errors import WorkspaceError
    from happysad.common.files import fresh_folder

    target = tmp_path / "curated"
    with fresh_folder(target) as building:
        (building / "first.jpg").write_text("first")
        with pytest.raises(WorkspaceError, match="being written by another command"), fresh_folder(target):
            pass
        assert (building / "first.jpg").exists()  # the refused one removed nothing of it
    assert [p.name for p in target.iterdir()] == ["first.jpg"]


def test_a_full_disk_says_so_and_an_empty_export_never_replaces_the_last(tmp_path: Path):
    """On a full disk the workspace database's error reads as one (its advice is not "move it
    aside"); and when the database is moved aside anyway, export refuses to replace the earlier
    export with nothing unless --allow-empty."""
    with small_disk(tmp_path / "small", "3m") as small:
        data = small / "ws"
        make_tree(tmp_path / "tree")
        for step in (("import", str(tmp_path / "tree")), ("scan",), ("dedupe",)):
            curate_json(*step, data=data)
        exported = curate_json("export", data=data)["exported"]
        with (small / "filler").open("wb") as filler, contextlib.suppress(OSError):  # the disk fills up
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
        line = one_line(run_cli("curate", "dedupe", "--threshold", "3", data=data))
        assert "No space left on device" in line and "damaged" not in line, line
        (small / "filler").unlink()
        (data / "curation.sqlite").rename(small / "aside.sqlite")  # what the old advice said
        line = one_line(run_cli("curate", "export", data=data))
        assert line.startswith("curate: error: nothing to export") and "--allow-empty" in line, line
        with (data / "curated" / "manifest.csv").open() as handle:
            assert len(list(csv.DictReader(handle))) == exported  # the earlier export, whole
        assert curate_json("export", "--allow-empty", data=data)["exported"] == 0
