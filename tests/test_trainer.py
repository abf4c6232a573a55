"""train / evaluate / predict end to end with real TensorFlow on tiny generated faces."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.trainer_data import QUICK, face, make_tree, run, run_json, undecodable
from trainer.config import TrainConfig


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    data = make_tree(tmp_path_factory.mktemp("faces"), per_label=50, groups=True)
    (data / "happy" / "broken.jpg").write_bytes(b"<!doctype html><html>not an image</html>")
    (data / "sad" / "truncated.jpg").write_bytes((data / "sad" / "10000.jpg").read_bytes()[:300])
    with (data / "manifest.csv").open("a", newline="") as handle:  # listed, as files damaged after export
        csv.writer(handle).writerows(
            [
                ["happy/broken.jpg", "happy", "", "g-broken", ""],
                ["sad/truncated.jpg", "sad", "", "g-truncated", ""],
            ]
        )
    runs = tmp_path_factory.mktemp("runs")
    summary = run_json(
        "train",
        str(data),
        "--out",
        str(runs / "seed"),
        "--arch",
        "seed",
        "--epochs",
        "10",
        "--image-size",
        "48",
    )
    return data, runs / "seed", summary


def test_training_beats_chance_and_writes_a_complete_run(trained):
    _, run_dir, summary = trained
    assert summary["metrics"]["test"]["balanced_accuracy"] >= 0.8
    assert summary["metrics"]["validation"]["balanced_accuracy"] >= 0.8
    for name in (
        "model.keras",
        "config.json",
        "split.csv",
        "metrics.json",
        "history.csv",
        "curves.png",
        "confusion.png",
        "roc.png",
        "report.html",
    ):
        assert (run_dir / name).is_file(), name
    assert any((run_dir / "tensorboard").rglob("events.out.tfevents.*"))
    config = json.loads((run_dir / "config.json").read_text())
    assert (
        config["labels"] == ["happy", "sad"] and config["image_size"] == 48 and config["color_mode"] == "rgb"
    )
    assert 0 < config["threshold"] < 1 and config["seed"] == 1337 and config["versions"]["tensorflow"]
    assert config["data_fingerprint"]
    assert (run_dir.parent / "latest").resolve() == run_dir.resolve()
    assert "Worst misclassified" in (run_dir / "report.html").read_text()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for split in ("validation", "test"):
        assert {
            "accuracy",
            "balanced_accuracy",
            "precision",
            "recall",
            "roc_auc",
            "pr_auc",
            "confusion_matrix",
        } <= set(metrics[split])
        for key in ("accuracy", "balanced_accuracy", "precision", "recall", "roc_auc"):
            low, high = metrics[split][f"{key}_ci95"]
            assert low <= metrics[split][key] <= high
    test = summary["metrics"]["test"]
    assert test == metrics["test"] and test["n"] < 100 and "cannot tell models apart" in test["warning"]
    report = (run_dir / "report.html").read_text()
    assert "95% interval" in report and "cannot tell models apart" in report


def test_corrupt_files_are_skipped_and_counted(trained):
    _, _, summary = trained
    assert summary["skipped"] == {"html page, not an image": 1, "corrupt image": 1}
    assert sum(summary["counts"].values()) == 100


def test_split_keeps_groups_together_and_files_once(trained):
    _, run_dir, _ = trained
    with (run_dir / "split.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len({r["path"] for r in rows}) == len(rows) == 100
    sides: dict[str, set[str]] = {}
    for r in rows:
        sides.setdefault(r["group"], set()).add(r["split"])
    assert all(len(s) == 1 for s in sides.values())


def test_predict_agrees_with_evaluate(trained, tmp_path):
    _, run_dir, _ = trained
    with (run_dir / "split.csv").open() as handle:
        test_rows = [r for r in csv.DictReader(handle) if r["split"] == "test"]
    for r in test_rows:  # the test split as its own labelled tree
        target = tmp_path / r["label"] / Path(r["path"]).name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(Path(r["path"]).read_bytes())
    evaluation = run_json("evaluate", str(run_dir), str(tmp_path))
    assert {"accuracy", "balanced_accuracy", "precision", "recall", "roc_auc", "n"} <= set(evaluation)
    assert evaluation["read_by"] == "whole_frame" and len(evaluation["accuracy_ci95"]) == 2
    predictions = run_json("predict", str(run_dir), str(tmp_path))
    assert {p["read_by"] for p in predictions} == {"whole_frame"}
    assert len(predictions) == evaluation["n"] == len(test_rows)
    correct = sum(p["label"] == Path(p["path"]).parent.name for p in predictions)
    assert correct / len(predictions) == pytest.approx(evaluation["accuracy"])


def test_reloaded_model_gives_identical_predictions(trained):
    data, run_dir, _ = trained
    pattern = str(data / "happy" / "1*.jpg")
    first = run_json("predict", str(run_dir), pattern)
    second = run_json("predict", str(run_dir / "model.keras"), pattern)
    assert first == second and len(first) > 5
    assert all(0.5 <= p["probability"] <= 1 and set(p["scores"]) == {"happy", "sad"} for p in first)


def test_with_data_relative_paths_are_read_in_the_workspace(trained):
    data, run_dir, _ = trained
    inside = run_json("predict", str(run_dir), "happy/1*.jpg", "--data", str(data))
    assert inside == run_json("predict", str(run_dir), str(data / "happy" / "1*.jpg"))
    assert len(inside) > 5


def test_predict_reports_unreadable_files_without_failing(trained):
    data, run_dir, _ = trained
    results = run_json(
        "predict",
        str(run_dir),
        str(data / "happy" / "broken.jpg"),
        str(data / "happy" / "0.jpg"),
        str(data / "nope.jpg"),
    )
    assert [r["error"] for r in results] == ["html page, not an image", None, "no such file"]
    assert results[1]["label"] in ("happy", "sad")


def test_seed_architecture_is_the_notebooks_layer_stack():
    from trainer.models import seed

    model = seed(256, 3, 2)
    stack = [
        (type(layer).__name__, getattr(layer, "filters", None) or getattr(layer, "units", None))
        for layer in model.layers
    ]
    assert stack == [
        ("Conv2D", 16),
        ("MaxPooling2D", None),
        ("Conv2D", 32),
        ("MaxPooling2D", None),
        ("Conv2D", 16),
        ("MaxPooling2D", None),
        ("Flatten", None),
        ("Dense", 256),
        ("Dense", 1),
    ]
    assert model.layers[0].kernel_size == (3, 3) and model.layers[0].strides == (1, 1)
    assert model.layers[-1].activation.__name__ == "sigmoid" and model.count_params() == 3_696_625


def test_default_architecture_trains_with_augmentation_and_batchnorm(tmp_path):
    """...and reproducibly: the same seed gives the same augmented images, losses and model."""
    data = make_tree(tmp_path / "d", per_label=12)
    for out in ("r", "again"):
        summary = run_json(
            "train", str(data), "--out", str(tmp_path / out), "--epochs", "2", "--image-size", "32"
        )
    assert summary["epochs_run"] == 2
    assert (tmp_path / "r" / "history.csv").read_text() == (tmp_path / "again" / "history.csv").read_text()
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["arch"] == "compact" and config["augmentation"] == "strong"  # a small set overfits
    assert config["weight_average"] is False
    from trainer.models import compact

    names = {type(layer).__name__ for layer in compact(32, 3, 2).layers}
    assert {"BatchNormalization", "GlobalAveragePooling2D", "Dropout"} <= names


def test_large_sets_train_lightly_augmented_with_averaged_weights(tmp_path, monkeypatch):
    """The large-set recipe (light augmentation, EMA weights validated and kept) runs end to
    end and learns; here "large" is lowered so a tiny set takes that path."""
    from trainer import data
    from trainer.fitting import recipe
    from trainer.train import train

    assert recipe("compact", data.LARGE) == ("light", True)
    assert recipe("compact", data.LARGE - 1) == ("strong", False)
    assert recipe("seed", data.LARGE) == (None, False)
    monkeypatch.setattr(data, "LARGE", 10)
    tree = make_tree(tmp_path / "d", per_label=50)
    result = train(TrainConfig(tree, tmp_path / "r", epochs=16, image_size=32))
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert (config["augmentation"], config["weight_average"]) == ("light", True)
    assert result.metrics["validation"]["balanced_accuracy"] >= 0.75, result.metrics["validation"]


def test_training_images_are_mirrored_and_shifted_copies_and_others_untouched(tmp_path):
    """The default trains on random mirror images and whole-pixel shifts (reflected borders);
    validation, test and prediction see the image itself. Each epoch (a new iterator) draws
    afresh even under a global seed, as `train` sets one."""
    import keras
    import numpy as np
    from PIL import Image

    from trainer import data

    keras.utils.set_random_seed(7)
    pixels = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "x.png")
    plain = data.pipeline([str(tmp_path / "x.png")], [0], 32, 3, 1)
    assert np.allclose(next(iter(plain))[0][0].numpy(), pixels / 255.0)
    pad = round(32 * data.SHIFT)
    padded = {
        flip: np.pad(p, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
        for flip, p in ((False, pixels), (True, pixels[:, ::-1]))
    }
    augmented = data.pipeline([str(tmp_path / "x.png")], [0], 32, 3, 1, shuffle=True, augment="light")
    seen = set()
    for _ in range(40):
        image = np.rint(next(iter(augmented))[0][0].numpy() * 255).astype(np.uint8)
        match = [
            (flip, dy, dx)
            for flip, p in padded.items()
            for dy in range(2 * pad + 1)
            for dx in range(2 * pad + 1)
            if np.array_equal(p[dy : dy + 32, dx : dx + 32], image)
        ]
        assert match, "not a mirrored or shifted copy"
        seen.add(match[0])
    assert {flip for flip, _, _ in seen} == {False, True} and len(seen) > 10


@pytest.mark.parametrize("tag", [3, 6, 8, 5])
def test_the_model_sees_a_photo_upright_as_people_and_the_face_finder_do(tmp_path, tag):
    """A phone photo stored sideways with an EXIF orientation is fed to the model upright."""
    import numpy as np
    from PIL import Image, ImageOps

    from happysad.common.images import UPRIGHT_TURNS
    from trainer import data

    upright = np.random.default_rng(tag).integers(0, 256, (24, 40, 3), dtype=np.uint8)
    turns, mirror = UPRIGHT_TURNS[tag]
    stored = np.ascontiguousarray(np.rot90(upright[:, ::-1] if mirror else upright, -turns))
    exif = Image.Exif()
    exif[0x0112] = tag
    Image.fromarray(stored).save(tmp_path / "photo.png", exif=exif)
    assert np.array_equal(np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "photo.png"))), upright)
    item = data.check(data.Item(str(tmp_path / "photo.png"), "happy", "g"))
    assert isinstance(item, data.Item) and item.orientation == tag
    fed = data.pipeline([item.path], [0], 24, 3, 1, orientations=[item.orientation])
    image = next(iter(fed))[0][0].numpy()  # squared to 24 x 24, as the model's input
    expected = data.prepare(upright, 24).numpy()
    assert np.allclose(image, expected, atol=1e-5)


def test_bad_data_dir_is_one_line(tmp_path):
    result = run("train", str(tmp_path / "missing"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"train: error: {tmp_path / 'missing'} needs at least two label folders, found none"
    ]


def test_default_architecture_scores_an_image_and_its_mirror_alike(tmp_path):
    """Scoring averages each image with its mirror image (the model trained on flips)."""
    from PIL import Image, ImageOps

    data = make_tree(tmp_path / "d", per_label=12)
    run_json("train", str(data), "--out", str(tmp_path / "r"), "--epochs", "1", "--image-size", "32")
    assert json.loads((tmp_path / "r" / "config.json").read_text())["flip_tta"] is True
    original = sorted((data / "happy").iterdir())[0]
    mirror = tmp_path / "mirror.png"
    ImageOps.mirror(Image.open(original).convert("RGB")).save(mirror)
    lossless = tmp_path / "original.png"
    Image.open(original).convert("RGB").save(lossless)
    a, b = run_json("predict", str(tmp_path / "r"), str(lossless), str(mirror))
    assert a["label"] == b["label"] and abs(a["probability"] - b["probability"]) < 1e-3


@pytest.mark.parametrize(
    "asked,gpus,cpu_bf16,policy",
    [(None, 0, True, "mixed_bfloat16"), (None, 0, False, "float32"), (False, 0, True, "float32"),
     (True, 0, False, "mixed_bfloat16"), (None, 1, True, "float32"), (True, 2, True, "mixed_float16")],
)  # fmt: skip
def test_precision_policy(monkeypatch, asked, gpus, cpu_bf16, policy):
    from trainer import hardware

    monkeypatch.setattr(hardware, "cpu_computes_bfloat16", lambda: cpu_bf16)
    assert hardware.choose_policy(asked, gpus) == policy


def test_files_the_decoder_refuses_are_skipped_and_the_rest_answered(tmp_path):
    """Pillow reads them, TensorFlow does not: train, evaluate and predict skip each with a
    note, and every other image still gets its answer (a grayscale run reads BMPs too)."""

    data = make_tree(tmp_path / "d", per_label=8)
    refused = undecodable()
    for n, (name, payload) in enumerate(refused.items()):
        (data / ("happy", "sad")[n % 2] / name).write_bytes(payload)
    face(7, "sad").convert("P").save(data / "sad" / "palette.bmp")  # 8-bit: TensorFlow reads it
    face(8, "sad").save(data / "sad" / "plain.bmp")
    frames = [face(9 + k, "happy") for k in range(40)]
    frames[0].save(data / "happy" / "moving.gif", save_all=True, append_images=frames[1:])  # its first frame
    summary = run_json(
        "train",
        str(data),
        "--out",
        str(tmp_path / "r"),
        *QUICK,
        "--color-mode",
        "grayscale",
    )
    assert summary["skipped"] == {"undecodable by TensorFlow": len(refused)}
    assert sum(summary["counts"].values()) == 16 + 3
    evaluated = run_json("evaluate", str(tmp_path / "r"), str(data))
    assert evaluated["skipped"] == {"undecodable by TensorFlow": len(refused)} and evaluated["n"] == 19
    results = {Path(r["path"]).name: r for r in run_json("predict", str(tmp_path / "r"), str(data))}
    assert len(results) == 16 + 3 + len(refused)
    for name, result in results.items():
        if name in refused:
            assert result["label"] is None and result["error"] == "undecodable by TensorFlow", name
        else:
            assert result["label"] in ("happy", "sad") and result["error"] is None, name


def test_a_label_without_one_readable_image_fails_training(tmp_path):
    data = make_tree(tmp_path / "d", per_label=6)
    for path in (data / "sad").iterdir():
        path.write_bytes(b"<html>not an image</html>")
    result = run("train", str(data), "--out", str(tmp_path / "r"), "--epochs", "1")
    assert result.returncode == 1 and "no readable image labelled sad" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_broken_run_is_one_line_for_every_command_that_opens_it(trained, tmp_path):
    import shutil

    data, run_dir, _ = trained
    truncated = tmp_path / "truncated"
    shutil.copytree(run_dir, truncated)
    (truncated / "model.keras").write_bytes((run_dir / "model.keras").read_bytes()[:2000])
    older = tmp_path / "older"
    shutil.copytree(run_dir, older)
    (older / "config.json").write_text(json.dumps({"labels": ["happy", "sad"]}))
    garbled = tmp_path / "garbled"
    shutil.copytree(run_dir, garbled)
    (garbled / "config.json").write_text("{not json")
    image = str(next((data / "happy").glob("*.jpg")))
    # every command that opens a run meets one kind of damage, every kind is met once (one
    # TensorFlow start-up each; all three open runs through trainer.run.open_run)
    init = ("--out", str(tmp_path / "x"))
    for says, command in (
        ("cannot be loaded", ("predict", str(truncated), image)),
        ("lacks image_size", ("evaluate", str(older), str(data))),
        ("is unreadable", ("train", str(data), "--init", str(garbled), *init)),
        ("cannot be loaded", ("train", str(data), "--init", str(truncated), *init)),  # loads the weights
    ):
        result = run(*command)
        assert result.returncode == 1 and says in result.stderr, (command, result.stderr[-500:])
        assert len(result.stderr.strip().splitlines()) == 1


def test_face_crop_labels_are_judged_per_picture():
    """A crop inherits its picture's label: one unsmiling face in a "happy" picture whose other
    faces smile is no label issue; a picture all of whose faces read the other way is, whole."""
    import numpy as np

    from trainer.evidence import label_issues

    given = np.array([0] * 30 + [1] * 30)
    p_sad = np.where(given == 1, 0.9, 0.1)
    p_sad[0] = 0.95  # picture 0 (crops 0-2, happy): one face reads sad
    p_sad[36:39] = 0.05  # picture 12 (crops 36-38, sad): every face reads happy
    probs = np.stack([1 - p_sad, p_sad], axis=1)
    pictures = [f"picture-{n // 3}" for n in range(60)]
    assert set(np.flatnonzero(label_issues(given, probs))) == {0, 36, 37, 38}  # crop by crop
    assert set(np.flatnonzero(label_issues(given, probs, pictures))) == {36, 37, 38}
