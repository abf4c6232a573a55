"""Faces through the pipeline with the real parts: mongod through FiftyOne for `curate faces`
and review, TensorFlow for training on crops and `--faces` scoring (the detectors themselves:
tests/test_face_detectors.py)."""

from __future__ import annotations

import csv
import json
import os
from collections import defaultdict
from pathlib import Path

import pytest
from PIL import Image

from curation.catalog import Catalog
from happysad.faces.detectors import Face
from tests.conftest import curate_json, run_cli
from tests.faces_data import face_crop_tree, iou
from tests.trainer_data import run, run_json
from trainer.data import list_tree
from trainer.splits import assign


@pytest.fixture(scope="module")
def workspace(scenes, tmp_path_factory, fiftyone_env):
    root, _ = scenes
    data = tmp_path_factory.mktemp("faces-ws")
    curate_json("import", str(root), data=data)
    report = curate_json("faces", data=data, env=fiftyone_env)
    return data, report


@pytest.fixture(scope="module")
def fo(fiftyone_env):
    os.environ.update(fiftyone_env)
    from curation.database import fiftyone

    return fiftyone()


def test_curate_faces_stores_detections_and_tags_pictures_without_a_face(workspace, scenes, fo, fiftyone_env):
    data, report = workspace
    _, truth = scenes
    assert report["images"] == len(truth) and report["searched"] == len(truth) and report["unreadable"] == 0
    dataset = fo.load_dataset(report["dataset"])
    paths, boxes, tags = dataset.values(["filepath", "faces.detections", "tags"])
    no_face = {Path(p).name for p, t in zip(paths, tags, strict=True) if "no_face" in t}
    with Catalog(data) as catalog:
        names = {Path(r["path"]).name: r["source"] for r in catalog.rows()}  # raw name → imported file
    banners = {n for n, src in names.items() if "banner" in src}
    assert banners <= no_face and len(no_face) == report["no_face"]
    assert sum(len(b or []) for b in boxes) == report["faces"]
    assert all((len(b) == 0) == (Path(p).name in no_face) for p, b in zip(paths, boxes, strict=True))
    assert "no face" in dataset.list_saved_views()
    again = curate_json("faces", data=data, env=fiftyone_env)
    assert again["searched"] == 0 and again["resumed"] == len(truth)
    status = curate_json("status", data=data)
    assert status["searched_for_faces"] == len(truth) and status["no_face"] == report["no_face"]


@pytest.fixture(scope="module")
def crops(workspace, fiftyone_env):
    data, _ = workspace
    report = curate_json("export", "--faces", data=data, env=fiftyone_env)
    out = data / "curated-faces"
    with (out / "manifest.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return data, out, report, rows


def test_face_crops_inherit_their_picture_label_and_group(crops):
    data, out, report, rows = crops
    with Catalog(data) as catalog:
        pictures = {r["path"]: r for r in catalog.rows()}
        faces = catalog.faces()
    assert report["exported"] == len(rows) > 0
    assert json.loads((out / "faces.json").read_text()) == {
        "detector": "mtcnn:min20",
        "margin": 0.2,
        "min_face": 24,
    }
    for row in rows:
        picture = pictures[row["image"]]
        assert row["label"] == picture["label"] and row["path"].startswith(f"{picture['label']}/")
        assert row["group_id"] == (picture["group_id"] or f"s{picture['sha256'][:12]}")
        assert row["image_sha256"] == picture["sha256"]
        width, height = Image.open(out / row["path"]).size
        assert width == height >= 24
    # one crop per big-enough face of each exported picture; the small copy is a duplicate, left out
    per_picture = defaultdict(int)
    for row in rows:
        per_picture[row["image"]] += 1
    assert all(n == len(faces[image]) for image, n in per_picture.items())
    sources = {pictures[image]["source"] for image in per_picture}
    assert not any("scene-2-small" in s for s in sources) and any(s.endswith("scene-2.jpg") for s in sources)
    banners = [
        n
        for why, n in report["left_out"].items()
        if why == "no face found" or why.startswith("looks like junk")
    ]
    assert sum(banners) >= 4  # the banners: junk to look at (low information), with no face
    # crops of one picture never straddle two splits
    split = assign(list_tree(out), (0.7, 0.2, 0.1), 1337)
    seen = defaultdict(set)
    for row in rows:
        seen[row["image"]].add(split[str((out / row["path"]).resolve())])
    assert all(len(s) == 1 for s in seen.values())


def test_min_face_leaves_small_faces_out(crops, fiftyone_env, tmp_path):
    data, _, report, _ = crops
    small = curate_json(
        "export",
        "--faces",
        "--min-face",
        "1000",
        "--out",
        str(tmp_path / "none"),
        data=data,
        env=fiftyone_env,
    )
    assert small["exported"] == 0 and small["left_out"]["face smaller than 1000 px"] == report["exported"]


def test_an_unknown_detector_is_bad_usage(tmp_path):
    result = run_cli("curate", "faces", "--detector", "yolo", data=tmp_path)
    # Typer's own message, from the registry: the bad value and the choices, no traceback
    assert result.returncode == 2 and "'yolo'" in result.stderr and "mtcnn" in result.stderr
    assert "Traceback" not in result.stderr


def test_export_faces_before_curate_faces_is_one_line(tmp_path, scenes, fiftyone_env):
    root, _ = scenes
    curate_json("import", str(root), data=tmp_path)
    curate_json("dedupe", data=tmp_path)
    result = run_cli("curate", "export", "--faces", data=tmp_path, env=fiftyone_env)
    assert result.returncode == 1 and "run `curate faces` first" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def face_run(crops, tmp_path_factory):
    _, out, _, _ = crops
    run_dir = tmp_path_factory.mktemp("face-runs") / "crops"
    run_json(
        "train", str(out), "--out", str(run_dir), "--arch", "seed", "--epochs", "12", "--image-size", "48"
    )
    return run_dir


def test_a_run_on_crops_records_how_they_were_cut(face_run, crops):
    config = json.loads((face_run / "config.json").read_text())
    assert config["faces"] == json.loads((crops[1] / "faces.json").read_text())


def test_predict_faces_reports_each_face_and_an_area_weighted_picture_label(face_run, scenes, tmp_path):
    root, truth = scenes
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"<html>not a picture</html>")
    targets = [
        root / "happy/scene-2.jpg",
        root / "sad/scene-1004.jpg",
        root / "happy/banner-happy-0.png",
        broken,
    ]
    results = run_json("predict", str(face_run), *map(str, targets), "--faces")
    assert [Path(r["path"]).name for r in results] == [t.name for t in targets]
    for r, target in zip(results[:2], targets[:2], strict=True):
        boxes = truth[str(target.relative_to(root))]
        assert r["faces"] and r["label"] in ("happy", "sad")
        for f in r["faces"]:
            assert max(iou(Face(*f["box"], None), b) for b in boxes) >= 0.4
            assert f["label"] in ("happy", "sad") and 0.5 <= f["probability"] <= 1
        sad = [f["probability"] if f["label"] == "sad" else 1 - f["probability"] for f in r["faces"]]
        areas = [f["box"][2] * f["box"][3] for f in r["faces"]]
        assert r["scores"]["sad"] == pytest.approx(
            sum(s * a for s, a in zip(sad, areas, strict=True)) / sum(areas)
        )
        assert [f["box"][2] * f["box"][3] for f in r["faces"]] == sorted(areas, reverse=True)
    assert (
        results[2]["label"] is None and results[2]["error"] == "no face found" and results[2]["faces"] == []
    )
    assert results[3]["label"] is None and results[3]["error"] == "html page, not an image"


def test_evaluate_faces_scores_pictures_with_a_face_and_reports_coverage(face_run, scenes):
    root, truth = scenes
    result = run_json("evaluate", str(face_run), str(root), "--faces")
    assert result["images"] == len(truth)
    assert result["coverage"] == pytest.approx(result["n"] / result["images"])
    assert result["no_face"] >= 4 and result["n"] == len(truth) - result["no_face"]
    assert result["accuracy"] >= 0.8  # the mouths are learnable from the crops
    assert result["read_by"] == "faces" and sum(result["abstained_filed_as"].values()) == result["no_face"]
    table = run("evaluate", str(face_run), str(root), "--faces")
    assert table.returncode == 0 and "abstained (no face found:" in table.stdout


def test_review_on_a_face_run_predicts_each_face_and_ranks_faces(face_run, workspace, fiftyone_env, fo):
    data, _ = workspace
    report = curate_json("review", "--no-app", "--predictions", str(face_run), data=data, env=fiftyone_env)
    dataset = fo.load_dataset(report["dataset"])
    dataset.reload()  # this process loaded it before the review added fields
    assert dataset.info["predictions_from"] == str(face_run) and "predictions_writing" not in dataset.info
    faces, per_face, splits = dataset.values(
        ["faces.detections", "face_predictions.detections", "prediction_split"]
    )
    for found, predicted in zip(faces, per_face, strict=True):
        assert len(predicted or []) == len(found or [])
    assert {"train", "validation", "test"} <= set(filter(None, splits))
    # the prior never saw these faces: a second opinion beside the run's, averaged into the evidence
    sources, prior = dataset.values(["evidence_source", "prior_prediction"])
    assert {"in_sample+prior", "held_out+prior"} <= set(filter(None, sources))
    assert all((p is None) == (s is None or "prior" not in s) for s, p in zip(sources, prior, strict=True))
    view = dataset.load_saved_view("likely mislabelled faces")
    assert all(p.face_predictions.label != p.ground_truth.label for p in view)
    confidences = view.values("face_predictions.confidence")
    assert confidences == sorted(confidences, reverse=True)
    # happy and sad in two colours of their own, the same in every label field (the App's grid and map)
    scheme = dataset.app_config.color_scheme
    colours = {f["path"]: {c["value"]: c["color"] for c in f["valueColors"]} for f in scheme.fields}
    assert scheme.color_by == "value" and {"ground_truth", "face_predictions", "prior_prediction"} <= set(
        colours
    )
    assert len({str(c) for c in colours.values()}) == 1 and len(set(colours["ground_truth"].values())) == 2
    _faces_lie_by_similarity(dataset, report["predictions"]["face_map"])


def _faces_lie_by_similarity(dataset, said: dict) -> None:
    """Each face prediction has the prior's embedding; the App's map and similarity index exist
    over them, and a query by one face returns it, then its nearest neighbours (brute force)."""
    import numpy as np

    from curation import face_map

    ids, vectors = dataset.values(["face_predictions.detections.id", "face_predictions.detections.embedding"])
    pairs = [(i, v) for a, b in zip(ids, vectors, strict=True) for i, v in zip(a or [], b or [], strict=True)]
    assert said["faces"] == len(pairs) > 2 and all(len(v) == 256 for _, v in pairs)
    assert {face_map.MAP, face_map.SIMILAR} <= set(dataset.list_brain_runs())
    assert said["workspace"] == face_map.WORKSPACE in dataset.list_workspaces()
    panels = [p for space in dataset.load_workspace(face_map.WORKSPACE).children for p in space.children]
    assert [p.type for p in panels] == ["Samples", "Embeddings"] and panels[1].state[
        "openKey"
    ] == face_map.MAP
    assert said["method"] in ("pca", "tsne") and len(dataset.load_brain_results(face_map.MAP).points) == len(
        pairs
    )
    query, at = pairs[0][0], np.array(pairs[0][1])
    cosine = {i: float(np.dot(v, at) / (np.linalg.norm(v) * np.linalg.norm(at))) for i, v in pairs}
    distances = {i: 1 - c for i, c in cosine.items()}  # the index's metric (scikit-learn, cosine)
    nearest = face_map.nearest(dataset, "face_predictions", query, k=3)
    assert nearest[0] == query
    assert np.allclose(
        [distances[i] for i in nearest], sorted(distances.values())[:3], atol=1e-3
    )  # float32 near-ties


def test_one_pass_classifies_as_classify_does_and_embeds_by_the_last_hidden_layer(scenes):
    """The review reads and embeds the faces with the prior in one pass: the same predictions
    as `classify`, and each face's vector is the prior's penultimate layer on its crop."""
    import keras
    import numpy as np
    import tensorflow as tf

    from happysad.faces.batch import Found
    from happysad.faces.images import open_upright
    from trainer import face_scoring
    from trainer.run import PRIOR_DIR, open_run

    root, truth = scenes
    found = [Found(root / name, [Face(*box, None) for box in boxes], None) for name, boxes in truth.items()]
    prior = open_run(PRIOR_DIR)
    read, embedded = face_scoring.classify_and_embed(prior, found)
    alone = face_scoring.classify(prior, found)
    assert [(r.label, r.error, len(r.faces)) for r in read] == [
        (r.label, r.error, len(r.faces)) for r in alone
    ]
    assert np.allclose(
        [f.probability for r in read for f in r.faces],
        [f.probability for r in alone for f in r.faces],
        atol=1e-6,
    )
    boxes = [(n, face) for n, f in enumerate(found) for face in f.faces]
    assert [len(e) for e in embedded] == [len(f.faces) for f in found] and len(boxes) > 10
    cuts = face_scoring.crops.cuts
    pieces = [p for f in found for _, p in cuts(open_upright(f.path), f.faces, face_scoring.settings(prior))]
    model = prior.load_model()
    hidden = keras.Model(model.inputs, model.layers[-2].output)
    want = hidden.predict(tf.stack([face_scoring.crop_tensor(prior, p) for p in pieces]), verbose=0)
    got = [embedded[n][(face.x, face.y, face.w, face.h)] for n, face in boxes]
    assert np.allclose(got, want, atol=1e-4)


def test_face_crops_fine_tune_from_the_prior_by_default_and_can_leave_disputed_labels_out(crops, tmp_path):
    from trainer.run import PRIOR_DIR

    _, out, _, _ = crops
    tuned = run_json("train", str(out), "--out", str(tmp_path / "tuned"), "--epochs", "1")
    config = json.loads((tmp_path / "tuned" / "config.json").read_text())
    assert config["init"]["run"] == str(PRIOR_DIR) and config["init"]["layers_copied"] > 0
    # no recipe beat the prior on another scrape's photos: by default the run is the prior, as it is
    prior = json.loads((PRIOR_DIR / "config.json").read_text())
    assert config["fine_tune"] == "keep" and config["epochs_run"] == 0
    assert (config["threshold"], config["threshold_from"]) == (prior["threshold"], "init")
    # the prior alone on the same test crops, beside the run's own figures, and the difference
    recorded = json.loads((tmp_path / "tuned" / "metrics.json").read_text())
    beside, mine = recorded["prior on test"], recorded["test"]
    assert beside["n"] == mine["n"] and beside["threshold"] == prior["threshold"]
    assert tuned["vs_prior"] == {"accuracy": 0.0, "balanced_accuracy": 0.0, "roc_auc": 0.0}
    assert "prior on test" in (tmp_path / "tuned" / "report.html").read_text()
    # fine-tuned when asked: a threshold that a few validation crops cannot move, and the deltas
    table = run("train", str(out), "--out", str(tmp_path / "plain"), "--epochs", "2", "--fine-tune", "plain")
    assert table.returncode == 0, table.stderr
    assert "prior on test" in table.stdout and "vs the prior alone on the same test crops" in table.stdout
    plain = json.loads((tmp_path / "plain" / "config.json").read_text())
    assert (plain["fine_tune"], plain["epochs_run"], plain["threshold"]) == ("plain", 2, prior["threshold"])
    assert (config["image_size"], config["color_mode"], config["shape_from"]["image_size"]) == (
        48,
        "grayscale",
        "prior",
    )
    assert config["label_cleaning"] == {"evidence": None, "on": False, "left_out": 0, "out_of_fold": None}
    summary = run_json("train", str(out), "--out", str(tmp_path / "clean"), "--epochs", "1", "--clean-labels")
    config = json.loads((tmp_path / "clean" / "config.json").read_text())
    assert config["label_cleaning"]["evidence"] == "prior" and config["label_cleaning"]["on"] is True
    with (tmp_path / "clean" / "split.csv").open(newline="") as handle:
        roles = [r["split"] for r in csv.DictReader(handle)]
    assert roles.count("label_issue") == summary["label_issues"] == config["label_cleaning"]["left_out"]
    run_json("train", str(out), "--out", str(tmp_path / "scratch"), "--epochs", "1", "--init", "none")
    scratch = json.loads((tmp_path / "scratch" / "config.json").read_text())
    assert scratch["init"] is None and scratch["shape_from"]["image_size"] == "data"


def test_review_with_the_prior_by_name_ranks_by_label_issue(workspace, fiftyone_env, fo):
    data, _ = workspace
    report = curate_json("review", "--no-app", "--predictions", "prior", data=data, env=fiftyone_env)
    assert report["predictions"]["evidence"] and set(report["predictions"]["evidence"]) <= {"held_out"}
    assert report["predictions"]["read_by"] == "faces"
    dataset = fo.load_dataset(report["dataset"])
    dataset.reload()
    view = dataset.load_saved_view("likely mislabelled")
    scores = view.values("label_issue")
    assert scores == sorted(scores, reverse=True)
    assert all(s.label_evidence.label != s.ground_truth.label for s in view)
    suspects = report["predictions"]["suspects"]
    assert [s["label_issue"] for s in suspects] == scores[: len(suspects)]


def test_review_reads_a_tree_of_face_crops_with_the_prior_without_a_face_search(tmp_path, fiftyone_env, fo):
    crops = face_crop_tree(tmp_path / "crops")
    curate_json("import", str(crops), data=tmp_path / "ws")
    report = curate_json(
        "review", "--no-app", "--predictions", "prior", data=tmp_path / "ws", env=fiftyone_env
    )
    assert report["predictions"]["predicted"] == 16 and report["predictions"]["unreadable"] == 0
    assert report["predictions"]["read_by"] == "whole_frame"  # each crop read whole
    dataset = fo.load_dataset(report["dataset"])
    dataset.reload()
    assert "face_predictions" not in dataset.get_field_schema()  # each image is its one face, no search
    read = dataset.values("prediction.label")
    assert sum(r == t for r, t in zip(read, dataset.values("ground_truth.label"), strict=True)) >= 12


@pytest.mark.parametrize("recipe", ["frozen", "lp-ft", "l2-sp", "lwf", "wise-ft", "short"])
def test_each_fine_tuning_recipe_trains_from_the_prior_as_it_says(crops, tmp_path, recipe):
    import keras

    from trainer import finetune
    from trainer.run import PRIOR_DIR

    _, out, _, _ = crops
    run_json("train", str(out), "--out", str(tmp_path / recipe), "--epochs", "3", "--fine-tune", recipe)
    config = json.loads((tmp_path / recipe / "config.json").read_text())
    assert config["fine_tune"] == recipe
    assert config["epochs_run"] == (1 if recipe == "short" else 3)
    tuned, prior = (keras.models.load_model(p / "model.keras") for p in (tmp_path / recipe, PRIOR_DIR))
    first_tuned, first_prior = (finetune.blocks_of(m)[0][0].get_weights()[0] for m in (tuned, prior))
    last_tuned, last_prior = (m.layers[-1].get_weights()[0] for m in (tuned, prior))
    assert (first_tuned == first_prior).all() == (recipe == "frozen")
    assert not (last_tuned == last_prior).all()  # every recipe trains the head
