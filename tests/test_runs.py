"""A run among runs: compared with the previous one on the same data, started from another's
weights, its labels judged out of fold, replaced whole, and its report."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from happysad.common.errors import UsageError
from tests.trainer_data import QUICK, make_tree, run, run_json
from trainer.config import TrainConfig


def _settings(data_dir: str, fingerprint: str, created: str = "", **more):
    """A run's config.json as `train` writes it, with only what comparing reads filled in."""
    from trainer.record import RunConfig

    needed = {"labels": ["happy", "sad"], "image_size": 48, "color_mode": "grayscale", "threshold": 0.5}
    return RunConfig(
        **needed, arch="compact", data_dir=data_dir, data_fingerprint=fingerprint, created=created, **more
    )


def _fake_run(folder: Path, data_dir: str, fingerprint: str, created: str, accuracy: float, **more) -> Path:
    from trainer.record import Metrics

    folder.mkdir(parents=True)
    _settings(data_dir, fingerprint, created, **more).write(folder)
    test = {"accuracy": accuracy, "balanced_accuracy": accuracy, "roc_auc": 0.9}
    Metrics({"test": test}).write(folder)
    return folder


def test_a_run_is_compared_with_the_previous_run_on_the_same_data(tmp_path):
    from trainer.compare import compare

    _fake_run(tmp_path / "a", "/data/curated", "f1", "2026-01-01T10:00:00", 0.70)
    _fake_run(tmp_path / "b", "/data/curated", "f1", "2026-01-02T10:00:00", 0.75)
    _fake_run(tmp_path / "c", "/elsewhere", "f9", "2026-01-03T10:00:00", 0.99)
    (tmp_path / "e").mkdir()  # a folder beside that is no run (its config.json lacks labels) is passed over
    (tmp_path / "e" / "config.json").write_text(json.dumps({"data_dir": "/data/curated", "created": "2027"}))
    (tmp_path / "e" / "metrics.json").write_text(json.dumps({"test": {"accuracy": 0.1}}))
    new = tmp_path / "d"
    new.mkdir()
    test = {"accuracy": 0.80, "balanced_accuracy": 0.70, "roc_auc": 0.9}
    result = compare(new, _settings("/data/curated", "f2"), {"test": test})
    assert result.previous == str(tmp_path / "b") and not result.same_data
    assert result.delta == {"accuracy": 0.05, "balanced_accuracy": -0.05, "roc_auc": 0.0}
    assert compare(new, _settings("/new", "x"), {"test": {}}) is None


def test_the_runs_of_a_copied_workspace_compare_within_the_copy(tmp_path):
    """Runs record their data folder relative to themselves too: in a copy (or a moved
    workspace) they point at its export, not the original's, and still find each other."""
    from trainer.compare import compare

    for workspace in ("original", "copy"):
        (tmp_path / workspace / "curated").mkdir(parents=True)
    old_data = str(tmp_path / "original" / "curated")
    old = _fake_run(
        tmp_path / "copy" / "runs" / "a",
        old_data,
        "f1",
        "2026-01-01",
        0.70,
        data_dir_from_run="../../curated",
    )
    new = tmp_path / "copy" / "runs" / "b"
    new.mkdir()
    mine = _settings(str(tmp_path / "copy" / "curated"), "f2", data_dir_from_run="../../curated")
    assert compare(new, mine, {"test": {"accuracy": 0.8}}).previous == str(old)
    (tmp_path / "copy" / "curated").rmdir()  # the relative folder gone: the recorded path decides
    assert compare(new, mine, {"test": {"accuracy": 0.8}}) is None


def test_start_from_copies_every_matching_layer():
    import numpy as np

    from trainer.models import compact, start_from

    source, same, other = compact(32, 3, 2), compact(32, 3, 2), compact(32, 3, 3)
    with_weights = [layer for layer in source.layers if layer.get_weights()]
    assert start_from(same, source) == len(with_weights)
    for a, b in zip(same.get_weights(), source.get_weights(), strict=True):
        assert np.array_equal(a, b)
    assert start_from(other, source) == len(with_weights) - 1  # all but the three-class head


def test_fine_tuning_starts_from_the_given_run(tmp_path):
    data = make_tree(tmp_path / "d", per_label=12)
    run_json(
        "train",
        str(data),
        "--out",
        str(tmp_path / "a"),
        *QUICK,
        "--color-mode",
        "grayscale",
    )
    run_json("train", str(data), "--out", str(tmp_path / "b"), "--init", str(tmp_path / "a"), "--epochs", "1")
    config = json.loads((tmp_path / "b" / "config.json").read_text())
    assert config["init"]["run"] == str((tmp_path / "a").resolve()) and config["init"]["layers_copied"] == 5
    assert (config["arch"], config["image_size"], config["color_mode"]) == ("seed", 32, "grayscale")
    clash = run("train", str(data), "--init", str(tmp_path / "a"), "--image-size", "64")
    assert (
        clash.returncode == 1
        and clash.stderr.startswith("train: error: --init")
        and "Traceback" not in clash.stderr
    )


def test_input_shape_comes_from_the_data_when_not_given(tmp_path):
    from PIL import Image

    data = make_tree(tmp_path / "d", per_label=10)
    for path in data.rglob("*.jpg"):  # 40 px grayscale, as a face-crop tree would be
        Image.open(path).convert("L").resize((40, 40)).save(path)
    run_json("train", str(data), "--out", str(tmp_path / "r"), "--epochs", "1")
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert (config["image_size"], config["color_mode"], config["channels"]) == (40, "grayscale", 1)
    assert config["shape_from"]["image_size"] == config["shape_from"]["color_mode"] == "data"
    assert config["init"] is None  # not face crops: no prior unless asked


def test_cross_fit_judges_every_label_out_of_fold_and_cleaning_leaves_planted_flips_out(tmp_path):
    data = make_tree(tmp_path / "d", per_label=40)
    planted = set()
    for label, other in (("happy", "sad"), ("sad", "happy")):
        for path in sorted((data / label).iterdir())[:4]:  # a smiling face filed under sad, and back
            planted.add(str(path.rename(data / other / f"flipped-{path.name}").resolve()))
    summary = run_json(
        "train",
        str(data),
        "--out",
        str(tmp_path / "r"),
        "--arch",
        "seed",
        "--image-size",
        "48",
        "--epochs",
        "20",
        "--cross-fit",
        "3",
        "--clean-labels",
    )
    with (tmp_path / "r" / "split.csv").open(newline="") as handle:
        split = {r["path"]: r["split"] for r in csv.DictReader(handle)}
    with (tmp_path / "r" / "out_of_fold.csv").open(newline="") as handle:
        oof = list(csv.DictReader(handle))
    assert sorted(r["path"] for r in oof) == sorted(split)  # test images: the fold models' mean
    assert {r["fold"] for r in oof} == {"0", "1", "2", "test"}
    assert all((r["fold"] == "test") == (split[r["path"]] == "test") for r in oof)
    assert all(float(r["p_happy"]) + float(r["p_sad"]) == pytest.approx(1, abs=1e-5) for r in oof)
    issues = {p for p, s in split.items() if s == "label_issue"}
    assert len(issues) == summary["label_issues"] and summary["evidence"] == "out_of_fold"
    judged = {p for p in planted if split[p] != "test"}
    assert len(judged & issues) >= 0.75 * len(judged), (judged, issues)
    assert len(issues - planted) <= 4  # a few honest faces may be disputed, not a tenth of the set
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["label_cleaning"] == {
        "evidence": "out_of_fold",
        "on": True,
        "left_out": len(issues),
        "out_of_fold": "out_of_fold.csv",
    }
    assert sum(config["counts"].values()) + len(issues) == len(oof)
    assert (
        f"Left out of training as label issues ({len(issues)})"
        in (tmp_path / "r" / "report.html").read_text()
    )


def test_cleaning_without_evidence_and_one_fold_are_refused(tmp_path):
    data = make_tree(tmp_path / "d", per_label=6)
    result = run("train", str(data), "--out", str(tmp_path / "r"), "--epochs", "1", "--clean-labels")
    assert result.returncode == 1 and result.stderr.startswith("train: error: --clean-labels needs evidence")
    assert len(result.stderr.strip().splitlines()) == 1
    result = run("train", str(data), "--cross-fit", "1")
    assert result.returncode == 2 and "--cross-fit" in result.stderr
    with pytest.raises(UsageError, match="--cross-fit"):  # from code too, not only the command line
        TrainConfig(data, cross_fit=1)


def test_training_into_an_existing_run_replaces_it_whole(tmp_path):
    """The run is written beside --out and moved into place at the end, so a run killed
    half-way never leaves two runs' files mixed in one folder."""
    data = make_tree(tmp_path / "d", per_label=6)
    out = tmp_path / "runs" / "r"
    out.mkdir(parents=True)
    (out / "metrics.json").write_text("{}")
    (out / "from-the-old-run.png").write_bytes(b"old")
    (tmp_path / "runs" / ".r.building").mkdir()  # what a run killed while training left
    (tmp_path / "runs" / ".r.building" / "half.csv").write_text("x")
    run_json("train", str(data), "--out", str(out), "--arch", "seed", "--epochs", "1", "--image-size", "32")
    assert not (out / "from-the-old-run.png").exists() and json.loads((out / "metrics.json").read_text())
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["latest", "r"]
    # killed between the swap's two renames: the old run aside, none at --out; the next run puts
    # it back before replacing it (happysad.common.files.fresh_folder, SIGKILL-tested in test_files.py)
    out.rename(tmp_path / "runs" / ".r.old")
    run_json("train", str(data), "--out", str(out), "--arch", "seed", "--epochs", "1", "--image-size", "32")
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["latest", "r"]
    assert (out / "model.keras").is_file()


def test_the_report_shows_each_misread_image_with_the_probability_of_the_label_it_was_read_as(tmp_path):
    """A sigmoid model reads an image as labels[0] when P(labels[1]) is low: the report must show
    P(labels[0]), the label it was read as, not the low P(labels[1])."""
    import re
    from collections import Counter

    import numpy as np
    from PIL import Image

    from trainer import metrics
    from trainer.data import Item
    from trainer.writer import _report_pictures

    items = []
    for n in range(4):
        path = tmp_path / f"{n}.png"
        Image.new("RGB", (8, 8), (n * 60, 0, 0)).save(path)
        items.append(Item(str(path), "", str(path)))
    y = np.array([1, 1, 0, 0])
    s = np.array([0.1, 0.3, 0.8, 0.2])  # two sad images read as happy, one happy read as sad
    results = {"test": metrics.summarise(y, s, 0.5, ["happy", "sad"])}
    from trainer.evidence import Judged
    from trainer.fitting import Fitted, Scored
    from trainer.writer import Made, Used

    fitted = Fitted(None, {"loss": [1.0, 0.5]}, None, False, 1e-3, 0, "float32")
    scored = Scored({"test": y}, {"test": s}, 0.5, "validation", results)
    used = Used(["happy", "sad"], items, {"test": items}, Counter(), None)
    _report_pictures(tmp_path, used, Made(None, fitted, scored, Judged(None, False, [])))
    shown = re.findall(r"true (\w+), predicted (\w+) \((\d\.\d\d)\)", (tmp_path / "report.html").read_text())
    assert sorted(shown) == [("happy", "sad", "0.80"), ("sad", "happy", "0.70"), ("sad", "happy", "0.90")]
