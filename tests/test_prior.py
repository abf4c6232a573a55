"""The shipped expression model: what it records, that it reads faces as recorded, and that the
name `prior` works wherever a run directory does."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.faces_data import face_crop_tree, make_scenes
from tests.trainer_data import run, run_json
from trainer.run import PRIOR, PRIOR_DIR, open_run

FER = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "fer2013-happy-sad" / "validation"


def test_the_prior_ships_small_with_its_card_and_records_how_to_feed_it():
    prior = open_run(Path(PRIOR))
    assert prior.path == PRIOR_DIR
    assert (PRIOR_DIR / "model.keras").stat().st_size <= 10 * 2**20
    config = prior.config
    assert (config.labels, config.image_size, config.color_mode, config.channels) == (
        ["happy", "sad"],
        48,
        "grayscale",
        1,
    )
    assert json.loads((PRIOR_DIR / "config.json").read_text())["rescale"] == 1 / 255
    assert config.flip_tta is True and 0 < config.threshold < 1
    assert config.faces.detector == "mtcnn:min20"  # a face model: --faces and review cut faces
    recorded = json.loads((PRIOR_DIR / "metrics.json").read_text())["test"]
    assert recorded["n"] == 1548 and recorded["accuracy"] >= 0.93
    card = (PRIOR_DIR / "MODEL_CARD.md").read_text()
    assert f"{recorded['accuracy']:.3f}" in card and "scripts/train_prior.py" in card
    assert re.search(r"\| commit \| [0-9a-f]{7,} \|", card) and "FER2013" in card


@pytest.mark.skipif(not FER.is_dir(), reason="needs ../shared/datasets beside the checkout")
def test_the_prior_reads_fer2013_as_its_card_says():
    """A sample of FER2013 validation through `evaluate prior`: the recorded preprocessing
    (48 px grayscale, [0, 1], mirror-averaged, the threshold) reproduces the recorded accuracy."""
    recorded = json.loads((PRIOR_DIR / "metrics.json").read_text())["test"]
    result = run_json("evaluate", PRIOR, str(FER))  # 48 px crops: read whole, no face search
    assert result["n"] == recorded["n"]
    assert result["accuracy"] == pytest.approx(recorded["accuracy"], abs=0.002)


def test_prior_reads_faces_by_default_and_each_image_as_a_crop_with_no_faces(tmp_path):
    """A face model on a whole photo answers confidently and wrongly: `prior` (and any run on face
    crops) finds the faces unless told the images are crops already."""
    truth = make_scenes(tmp_path / "scenes", per_label=2, banners=1)
    results = run_json("predict", PRIOR, str(tmp_path / "scenes"))
    assert len(results) == len(truth)
    assert all(r["faces"] for r in results if "banner" not in r["path"])
    assert all(r["label"] in ("happy", "sad") or r["error"] == "no face found" for r in results)
    assert any(r["error"] == "no face found" for r in results)  # the banner: no face, no guess
    assert {r["read_by"] for r in results} == {"faces"}
    whole = run_json("predict", PRIOR, str(tmp_path / "scenes"), "--no-faces")
    assert all(r["faces"] is None and r["label"] in ("happy", "sad") for r in whole)
    assert {r["read_by"] for r in whole} == {"whole_frame"}
    evaluated = run_json("evaluate", PRIOR, str(tmp_path / "scenes"))
    assert evaluated["images"] == len(truth) and 0 < evaluated["coverage"] < 1
    assert evaluated["read_by"] == "faces" and evaluated["abstained"] == pytest.approx(
        1 - evaluated["coverage"]
    )
    assert evaluated["abstained_filed_as"] == {"happy": 1, "sad": 1}  # the banner of each label
    whole_frame = run_json("evaluate", PRIOR, str(tmp_path / "scenes"), "--no-faces")
    assert "coverage" not in whole_frame and whole_frame["read_by"] == "whole_frame"
    crops = face_crop_tree(tmp_path / "crops")  # small face crops are read whole by default
    assert all(r["faces"] is None and r["label"] for r in run_json("predict", PRIOR, str(crops)))
    junk = tmp_path / "page.jpg"
    junk.write_bytes(b"<!doctype html><html>not an image</html>")
    [only] = run_json("predict", PRIOR, str(junk))  # nothing readable: a note, not a failure
    assert only["label"] is None and only["error"] == "html page, not an image"
    missing = run("predict", str(tmp_path / "no-such-run"), str(tmp_path))
    assert missing.returncode == 1 and "is not a training run" in missing.stderr
