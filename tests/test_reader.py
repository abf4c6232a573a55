"""`train`'s default reader: a picture export of people is read by its faces, one of objects (or
of face crops, or a --whole-frame / --arch ask) by the whole frame; real MTCNN, real TensorFlow."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from happysad.common import tables
from tests.faces_data import banner, make_scenes
from tests.trainer_data import make_tree, run, run_json
from trainer import reader
from trainer.config import TrainConfig
from trainer.predict import FACES, WHOLE_FRAME


def objects(root: Path, per_label: int = 10) -> Path:
    """Photos of things, not people: shapes on plain grounds and banners, 320x240."""
    for label in ("happy", "sad"):
        (root / label).mkdir(parents=True)
        for i in range(per_label):
            rng = random.Random(f"{label}{i}")
            img = Image.new("RGB", (320, 240), tuple(rng.randrange(256) for _ in range(3)))
            draw = ImageDraw.Draw(img)
            for _ in range(6):
                x, y = rng.randrange(300), rng.randrange(220)
                draw.rectangle(
                    (x, y, x + rng.randrange(8, 80), y + rng.randrange(8, 60)),
                    fill=(rng.randrange(256), 90, 40),
                )
            img.save(root / label / f"thing-{i}.jpg")
        banner(i).save(root / label / "banner.png")
    return root


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory):
    """A picture export of people (drawn faces MTCNN finds, and two banners a label), trained
    with the defaults: the face path."""
    root = tmp_path_factory.mktemp("pictures")
    make_scenes(root / "people", per_label=12, banners=2)
    summary = run_json("train", str(root / "people"), "--out", str(root / "run"), "--seed", "0")
    return root, summary


def test_a_picture_export_of_people_is_read_by_its_faces_cut_beside_it(people):
    root, summary = people
    crops = root / "people-faces"
    assert summary["read_by"] == FACES and summary["pictures"]["searched"] == 28
    assert summary["pictures"]["with_face"] == sum(r.faces > 0 for r in tables.read_searched(crops)) >= 20
    assert "faces in" in summary["reader_chosen"]
    searched = {r.image: r.faces for r in tables.read_searched(crops)}
    assert (
        searched["people/happy/banner-happy-0.png"] == 0 and len(searched) == 28
    )  # every picture, faces or not
    config = json.loads((root / "run" / "config.json").read_text())
    assert config["faces"] == json.loads((crops / "faces.json").read_text())  # predict cuts as training did
    assert config["reader"]["read_by"] == FACES and Path(config["data_dir"]) == crops.resolve()
    assert config["fine_tune"] == summary["fine_tune"] == "keep"  # the prior kept, by the cross-scrape rule
    assert summary["vs_prior_within_noise"] == ["accuracy", "balanced_accuracy", "roc_auc"]  # it is the prior
    assert summary["metrics"]["prior on test"]["n"] == summary["metrics"]["test"]["n"]


def test_a_face_run_answers_no_face_found_for_a_picture_without_one(people):
    root, _ = people
    answers = run_json("predict", str(root / "run"), str(root / "people" / "sad" / "banner-sad-0.png"))
    assert answers[0]["label"] is None and answers[0]["error"] == "no face found"
    assert answers[0]["read_by"] == FACES


def test_a_second_train_reuses_the_faces_found_and_a_face_export_trains_as_one(people, tmp_path):
    root, _ = people
    calls: list[tuple[int, int]] = []
    from trainer.train import train

    cfg = TrainConfig(root / "people", out=tmp_path / "again", seed=0)
    result = train(cfg, on_search=lambda done, total: calls.append((done, total)))
    assert calls == [] and result.read_by == FACES  # nothing searched again
    crops = reader.choose(TrainConfig(root / "people-faces"))
    assert crops.reader == FACES and crops.crops == root / "people-faces"


def test_objects_are_read_whole_frame_and_nothing_is_cut(tmp_path):
    things = objects(tmp_path / "things")
    table = run("train", str(things), "--out", str(tmp_path / "run"), "--epochs", "1", "--image-size", "32")
    assert table.returncode == 0 and "read by the whole frame" in table.stdout, table.stderr
    reader = json.loads((tmp_path / "run" / "config.json").read_text())["reader"]  # what --json says too
    assert reader["read_by"] == WHOLE_FRAME and "not photos of people" in reader["chosen"]
    assert not (tmp_path / "things-faces").exists()
    answer = run_json("predict", str(tmp_path / "run"), str(things / "happy" / "thing-0.jpg"))
    assert answer[0]["read_by"] == WHOLE_FRAME and answer[0]["label"] in ("happy", "sad")


@pytest.mark.parametrize("ask", [["--whole-frame"], ["--arch", "compact"]])
def test_whole_frame_is_there_when_asked(tmp_path, ask):
    make_scenes(tmp_path / "people", per_label=4, banners=0)
    cfg = TrainConfig(
        tmp_path / "people", whole_frame=ask == ["--whole-frame"], arch=ask[-1] if len(ask) == 2 else None
    )
    choice = reader.choose(cfg)
    assert choice.reader == WHOLE_FRAME and ask[0] in choice.why
    assert not (tmp_path / "people-faces").exists()


def test_face_crops_already_are_read_whole_frame_without_a_search(tmp_path):
    searched: list = []
    choice = reader.choose(
        TrainConfig(make_tree(tmp_path / "crops", per_label=6)), lambda *a: searched.append(a)
    )
    assert choice.reader == WHOLE_FRAME and "face crops already" in choice.why and searched == []


def test_a_folder_of_the_users_where_the_faces_would_go_is_refused_and_kept(tmp_path):
    make_scenes(tmp_path / "people", per_label=4, banners=0)
    mine = tmp_path / "people-faces"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    result = run("train", str(tmp_path / "people"), "--out", str(tmp_path / "run"))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "people-faces" in result.stderr and "not an earlier face export" in result.stderr
    assert (mine / "notes.txt").read_text() == "mine" and not (tmp_path / "run").exists()


def test_a_relabelled_picture_is_cut_again_under_its_new_label(tmp_path):
    pictures = tmp_path / "people"
    make_scenes(pictures, per_label=4, banners=0)
    reader.cut(pictures)
    (pictures / "happy" / "scene-0.jpg").rename(pictures / "sad" / "scene-0.jpg")
    reader.cut(pictures)
    with (tmp_path / "people-faces" / "manifest.csv").open(newline="") as handle:
        rows = {r["image"]: r["label"] for r in csv.DictReader(handle)}
    assert rows["people/sad/scene-0.jpg"] == "sad" and "people/happy/scene-0.jpg" not in rows
