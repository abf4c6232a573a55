"""import → scan → dedupe → export on a generated tree, with no database involved."""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import pytest

from tests.conftest import curate_json, run_cli
from tests.curation_data import make_tree


def _raw_state(data: Path) -> dict[str, str]:
    return {
        str(p.relative_to(data)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((data / "raw").rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("tree")
    planted = make_tree(root)
    data = tmp_path_factory.mktemp("ws")
    imported = curate_json("import", str(root), data=data)
    scanned = curate_json("scan", data=data)
    deduped = curate_json("dedupe", data=data)
    return root, data, planted, imported, scanned, deduped


def _raw_path(root: Path, data: Path, relative: str) -> str:
    sha = hashlib.sha256((root / relative).read_bytes()).hexdigest()
    label = relative.split("/")[0]
    return next(str(p.relative_to(data)) for p in (data / "raw" / label).glob(f"{sha[:16]}.*"))


def test_import_copies_every_file_by_label(workspace):
    root, data, _, imported, _, _ = workspace
    sources = [p for p in root.rglob("*") if p.is_file()]
    assert imported["added"] == len(sources)
    assert set(imported["per_label"]) == {"happy", "sad"}
    again = curate_json("import", str(root), data=data)
    assert again["added"] == 0 and again["known"] == len(sources)


def test_scan_flags_junk_with_reasons(workspace):
    _, data, _, _, scanned, _ = workspace
    status = curate_json("status", data=data)
    assert status["flags"] == {"corrupt": 1, "not_image": 1, "bomb": 1, "small": 1, "animated": 1}
    assert scanned["flags"] == status["flags"] and status["unscanned"] == 0
    assert status["labels"] == {"happy": 16, "sad": 12} and status["images"] == 28


def test_dedupe_groups_planted_duplicates_and_nothing_else(workspace):
    root, data, planted, _, _, deduped = workspace
    groups = [set(g) for g in deduped["groups"]]
    ((original, copies),) = planted["near"].items()
    family = {_raw_path(root, data, p) for p in [original, *copies]}
    assert family in groups  # resized, re-encoded, cropped, watermarked, brighter: one group
    conflict = {_raw_path(root, data, p) for p in planted["conflict"]}
    assert conflict in groups
    assert conflict in [set(c) for c in deduped["conflicts"]]
    cross = {_raw_path(root, data, "happy/happy2.jpg"), _raw_path(root, data, "sad/happy2-small.jpg")}
    assert cross in [set(c) for c in deduped["conflicts"]]
    assert len(groups) == 3  # distinct scenes are never grouped
    status = curate_json("status", data=data)
    assert status["groups"] == 3 and status["conflicts"] == 2
    assert status["pending_review"] == 5 + 4  # five flagged files, four members of conflicts


def test_threshold_option_is_applied(workspace):
    _, data, _, _, _, _ = workspace
    assert curate_json("dedupe", "--threshold", "0", data=data)["threshold"] == 0
    assert curate_json("dedupe", data=data)["threshold"] == 8  # the measured default


def test_export_keeps_one_per_group_and_drops_junk_and_conflicts(workspace, tmp_path):
    root, data, planted, _, _, _ = workspace
    before = _raw_state(data)
    report = curate_json("export", data=data)
    out = data / "curated"
    with (out / "manifest.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert set(rows[0]) >= {"path", "label", "sha256", "group_id", "source_url"}
    exported = {r["sha256"] for r in rows}
    # 8 + 8 distinct scenes, minus happy1 and happy2 (in conflict), with happy0 once
    assert report["exported"] == len(rows) == 14
    sha = {
        p: hashlib.sha256((root / p).read_bytes()).hexdigest()
        for p in ("happy/happy0.jpg", "happy/happy1.jpg")
    }
    assert sha["happy/happy1.jpg"] not in exported
    for flagged in planted["flags"]:
        assert hashlib.sha256((root / flagged).read_bytes()).hexdigest() not in exported
    family = [
        hashlib.sha256((root / p).read_bytes()).hexdigest()
        for p in [*planted["near"]["happy/happy0.jpg"], "happy/happy0.jpg"]
    ]
    assert sum(s in exported for s in family) == 1
    keeper = next(r for r in rows if r["sha256"] in family)
    smaller = {family[0], family[2]}  # the resized and the cropped copies
    assert keeper["sha256"] not in smaller  # the keeper has the highest resolution
    for r in rows:
        f = out / r["path"]
        assert f.is_file() and f.parent.name == r["label"]
        assert hashlib.sha256(f.read_bytes()).hexdigest() == r["sha256"]
    assert _raw_state(data) == before  # raw/ untouched


def test_export_is_idempotent(workspace):
    _, data, _, _, _, _ = workspace
    first = curate_json("export", data=data)
    listing = sorted(p.relative_to(data) for p in (data / "curated").rglob("*"))
    second = curate_json("export", data=data)
    assert second["exported"] == first["exported"] and second["removed"] == 0
    assert sorted(p.relative_to(data) for p in (data / "curated").rglob("*")) == listing


def test_collected_images_are_picked_up_without_import(tmp_path):
    from collector.engines.base import Candidate
    from collector.manifest import Manifest, Stored
    from collector.store import RawStore
    from happysad.common.workspace import raw_path
    from tests.curation_data import jpeg, scene

    data = tmp_path / "ws"
    store = RawStore(data)
    with Manifest(data) as m:
        row = m.add("happy people", "happy", "bing", 1, Candidate("http://x/1.jpg", page_url="http://x/p"))
        body = jpeg(scene(7, "happy"))
        sha = store.digest(body)
        stored = Stored(
            sha,
            raw_path("happy", sha, "jpg"),
            320,
            240,
            "JPEG",
            len(body),
            False,
            "http://x/1.jpg",
            1,
        )
        m.store(row.id, "writing", stored)
        store.publish(store.stage(body), stored.path)
        m.mark_ok(row.id)
    report = curate_json("scan", data=data)
    assert report["new_from_collect"] == 1 and report["scanned"] == 1
    out = curate_json("export", data=data)
    assert out["per_label"] == {"happy": 1}


def test_import_of_a_missing_folder_is_one_line(tmp_path):
    result = run_cli("curate", "import", str(tmp_path / "nope"), data=tmp_path / "ws")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("curate: error:") and len(result.stderr.strip().splitlines()) == 1


def test_dedupe_of_an_empty_workspace_reports_nothing(tmp_path):
    (tmp_path / "empty").mkdir()
    report = curate_json("dedupe", data=tmp_path / "empty")
    assert report["groups"] == [] and report["images"] == 0


def test_a_tree_of_small_face_crops_is_not_flagged_small_whole(tmp_path):
    """48 px crops (FER2013-like) are the data, not junk: `small` is relative to the workspace."""
    from PIL import Image

    root = tmp_path / "tree"
    for label, shade in (("happy", 90), ("sad", 160)):
        (root / label).mkdir(parents=True)
        for i in range(10):
            Image.new("L", (48, 48), shade + i).save(root / label / f"{i}.png")
    Image.new("L", (12, 12), 30).save(root / "sad" / "speck.png")
    curate_json("import", str(root), data=tmp_path / "ws")
    scanned = curate_json("scan", data=tmp_path / "ws")
    assert scanned["flags"] == {"small": 1}
    assert (scanned["min_size"], scanned["min_size_from"]) == (24, "data")
    again = tmp_path / "ws2"
    curate_json("import", str(root), data=again)
    assert curate_json("scan", "--min-size", "64", data=again)["flags"] == {"small": 21}


def test_one_odd_image_is_flagged_and_the_scan_goes_on(tmp_path):
    """A LAB TIFF (no RGB conversion) and a JPEG whose EXIF orientation is a fraction used to
    stop `scan` for good; now the first is flagged with a reason and the second is scanned."""
    import io
    import struct

    from PIL import Image

    root = tmp_path / "tree"
    (root / "happy").mkdir(parents=True)
    (root / "sad").mkdir()
    Image.new("LAB", (96, 96), (50, 10, 10)).save(root / "happy" / "lab.tif")
    ifd = struct.pack("<HHHII", 1, 0x0112, 5, 1, 26) + struct.pack("<III", 0, 3, 2)  # orientation = 3/2
    buffer = io.BytesIO()
    Image.new("RGB", (96, 96), (200, 10, 10)).save(
        buffer, "JPEG", exif=b"Exif\0\0II*\0" + struct.pack("<I", 8) + ifd
    )
    (root / "happy" / "fraction.jpg").write_bytes(buffer.getvalue())
    for i in range(3):
        Image.new("RGB", (96, 96), (i * 60, 90, 160)).save(root / "sad" / f"{i}.png")
    data = tmp_path / "ws"
    curate_json("import", str(root), data=data)
    scanned = curate_json("scan", data=data)
    assert scanned["scanned"] == 5 and scanned["flags"] == {"corrupt": 1}
    from curation.catalog import Catalog

    with Catalog(data) as catalog:
        rows = {r["source"].rsplit("/", 1)[-1]: r for r in catalog.rows()}
    assert rows["lab.tif"]["reason"] == "unsupported colour mode: LAB"
    assert rows["fraction.jpg"]["flag"] is None and rows["fraction.jpg"]["orientation"] == 1
    assert curate_json("dedupe", data=data)["images"] == 4  # and the next steps go on


def test_import_skips_links_out_of_the_tree_and_oversized_files_and_goes_on(tmp_path):
    from PIL import Image

    root = tmp_path / "tree"
    (root / "happy").mkdir(parents=True)
    (root / "sad").mkdir()
    Image.new("RGB", (96, 96), (200, 100, 50)).save(root / "happy" / "ok.jpg")
    Image.new("RGB", (96, 96), (20, 100, 150)).save(root / "sad" / "ok.jpg")
    secret = tmp_path / "secret.jpg"
    Image.new("RGB", (96, 96), (1, 2, 3)).save(secret)
    (root / "sad" / "link.jpg").symlink_to(secret)
    with (root / "happy" / "huge.jpg").open("wb") as handle:  # sparse: no disk, no time
        handle.truncate(41 * 2**20)
    report = curate_json("import", str(root), data=tmp_path / "ws")
    assert report["added"] == 2
    assert report["skipped"] == {
        str(root / "sad" / "link.jpg"): "a link out of the imported folder",
        str(root / "happy" / "huge.jpg"): f"too large: {41 * 2**20} bytes > {40 * 2**20}",
    }
    assert len(list((tmp_path / "ws" / "raw").rglob("*.jpg"))) == 2


def test_export_is_built_apart_and_a_failed_one_leaves_the_last(workspace, tmp_path):
    """A reader sees the old export or the new one: an export that fails halfway (a raw file
    gone) leaves curated/ as it was, none of the new pictures in it, and no half-built folder."""

    import numpy as np
    from PIL import Image

    _, original, _, _, _, _ = workspace
    data = tmp_path / "ws"
    shutil.copytree(original, data, ignore=shutil.ignore_patterns(".workspace-id"))
    curate_json("export", data=data)
    before = {str(p.relative_to(data)): p.read_bytes() for p in (data / "curated").rglob("*") if p.is_file()}
    extra = tmp_path / "extra" / "sad"
    extra.mkdir(parents=True)
    rng = np.random.default_rng(3)
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)).save(extra / f"new{i}.png")
    curate_json("import", str(extra.parent), data=data)
    curate_json("dedupe", data=data)
    new = sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in extra.iterdir())
    victim = next((data / "raw" / "sad").glob(f"{new[-1][:16]}.*"))  # last in the plan's order
    victim.rename(tmp_path / "aside")
    try:
        result = run_cli("curate", "export", data=data)
    finally:
        (tmp_path / "aside").rename(victim)
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    after = {str(p.relative_to(data)): p.read_bytes() for p in (data / "curated").rglob("*") if p.is_file()}
    assert after == before
    assert not [p.name for p in data.iterdir() if p.name.startswith(".curated")]
    assert curate_json("export", data=data)["exported"] == len(before) - 1 + 6  # and then it goes through


def test_export_refuses_to_replace_a_folder_that_is_not_an_export(workspace, tmp_path):
    _, data, _, _, _, _ = workspace
    mine = tmp_path / "my-photos"
    mine.mkdir()
    (mine / "holiday.jpg").write_bytes(b"precious")
    result = run_cli("curate", "export", "--out", str(mine), data=data)
    assert result.returncode == 1 and "not an earlier export" in result.stderr
    assert [p.name for p in mine.iterdir()] == ["holiday.jpg"]


def _one_line(result) -> str:
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(
    "command", [("curate", "status"), ("curate", "scan"), ("curate", "export"), ("train",)]
)
def test_a_data_typo_says_there_is_no_workspace_and_makes_none(tmp_path, command):
    typo = tmp_path / "dta"
    assert "no workspace at" in _one_line(run_cli(*command, data=typo))
    assert not typo.exists()


@pytest.mark.parametrize("command", [("curate", "status"), ("curate", "import", "."), ("collect", "x")])
def test_data_naming_a_file_is_one_line(tmp_path, command):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    assert "is a file, not a folder" in _one_line(run_cli(*command, data=a_file))
    assert a_file.read_text() == "mine"


@pytest.mark.parametrize("name", ["curation.sqlite", "collection.sqlite"])
def test_a_damaged_workspace_database_is_one_line_naming_it(workspace, tmp_path, name):

    _, original, _, _, _, _ = workspace
    data = tmp_path / "ws"
    shutil.copytree(original, data, ignore=shutil.ignore_patterns(".workspace-id"))
    (data / name).write_bytes(b"this is not a database, it was overwritten" * 100)
    line = _one_line(run_cli("curate", "status", data=data))
    assert name in line and "damaged or not a database" in line
