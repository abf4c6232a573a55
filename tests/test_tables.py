"""happysad.common.tables: each file the stages hand each other reads back as it was written."""

from __future__ import annotations

from pathlib import Path

from happysad.common import tables


def test_every_format_reads_back_what_was_written(tmp_path: Path):
    exported = [
        tables.Exported("sad/b.jpg", "sad", "f" * 64, "g2", "http://x/b.jpg", "collect"),
        tables.Exported("happy/a.jpg", "happy", "e" * 64, "g1"),
    ]
    tables.write_manifest(tmp_path, exported)
    assert tables.read_manifest(tmp_path) == sorted(exported, key=lambda r: r.path)
    crop = tables.Exported(
        "happy/a.face0.jpg",
        "happy",
        "d" * 64,
        "g1",
        image="raw/happy/a.jpg",
        image_sha256="e" * 64,
        box="0.1000,0.2000,0.3000,0.4000",
    )
    tables.write_manifest(tmp_path / "faces", [crop], faces=True)
    assert tables.read_manifest(tmp_path / "faces") == [crop]
    assert tables.read_manifest(tmp_path / "nowhere") is None

    splits = [
        tables.Split("/d/sad/b.jpg", "sad", "g2", "test"),
        tables.Split("/d/happy/a.jpg", "happy", "g1", "train"),
    ]
    tables.write_splits(tmp_path / tables.SPLIT_FILE, splits)
    assert tables.read_splits(tmp_path / tables.SPLIT_FILE) == sorted(splits, key=lambda r: (r.split, r.path))

    folds = [
        tables.OutOfFold("/d/happy/a.jpg", "happy", "g1", "0", (0.25, 0.75)),
        tables.OutOfFold("/d/sad/b.jpg", "sad", "g2", "test", (0.5, 0.5)),
    ]
    tables.write_out_of_fold(tmp_path / tables.OUT_OF_FOLD, ["happy", "sad"], folds)
    assert tables.read_out_of_fold(tmp_path / tables.OUT_OF_FOLD, ["happy", "sad"]) == folds
    assert tables.read_out_of_fold(tmp_path / "absent.csv", ["happy", "sad"]) == []


def test_a_manifest_of_the_users_own_is_no_export(tmp_path: Path):
    (tmp_path / tables.EXPORT_MANIFEST).write_text("name,comment\nholiday.jpg,mine\n")
    assert tables.read_manifest(tmp_path) is None  # the trainer walks the folders instead
    tables.write_manifest(tmp_path / "empty", [])
    assert tables.read_manifest(tmp_path / "empty") == []  # an export of nothing is still an export
