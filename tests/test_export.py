"""`export`: a run's model loaded in a fresh process with TensorFlow alone (no happysad code)
scores images as `predict` does: SavedModel within 1e-4, TFLite within 1e-2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests import documented
from tests.trainer_data import face, make_tree, run, run_json

# what a user of the export writes, with TensorFlow only: the SavedModel reads encoded bytes;
# the .tflite wants the preprocessing happysad.json describes, done by the caller
SAVEDMODEL = """
import json, sys
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
serve = model.signatures["serving_default"]
images = tf.constant([open(p, "rb").read() for p in sys.argv[2:]])
print(json.dumps(serve(images=images)["probabilities"].numpy().tolist()))
"""
TFLITE = """
import json, sys
import numpy as np
import tensorflow as tf
folder = sys.argv[1]
described = json.load(open(folder + "/happysad.json"))
size, channels = described["image_size"], 1 if described["color_mode"] == "grayscale" else 3
interpreter = tf.lite.Interpreter(model_path=folder + "/model.tflite")
interpreter.allocate_tensors()
given, answer = interpreter.get_input_details()[0]["index"], interpreter.get_output_details()[0]["index"]
def score(x):
    interpreter.set_tensor(given, x[None].astype(np.float32))
    interpreter.invoke()
    return interpreter.get_tensor(answer)[0]
out = []
for path in sys.argv[2:]:
    image = tf.io.decode_image(open(path, "rb").read(), channels=channels, expand_animations=False)
    x = (tf.image.resize(image, (size, size)) / 255.0).numpy()
    s = score(x)
    if "mirror" in described["preprocessing"]:
        s = (s + score(x[:, ::-1])) / 2
    out.append(s.tolist())
print(json.dumps(out))
"""


# every export's scripts in one fresh process (TensorFlow starts once: 10 s on a slow processor),
# each script with the arguments it would be given alone, each printing its scores as a JSON line
ALL = """
import json, sys
scripts = {"savedmodel": sys.argv[1], "tflite": sys.argv[2]}
for script, folder, images in json.loads(sys.argv[3]):
    sys.argv = ["score.py", folder, *images]
    exec(scripts[script], {"__name__": "__main__"})
"""


def _fresh(jobs: list[tuple[str, Path, list[Path]]]) -> list[np.ndarray]:
    """Each (script, export folder, images) job's scores, by the scripts above, in one fresh process."""
    plain = json.dumps([(script, str(folder), list(map(str, images))) for script, folder, images in jobs])
    done = subprocess.run(
        [sys.executable, "-c", ALL, SAVEDMODEL, TFLITE, plain],
        capture_output=True,
        text=True,
        timeout=300,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return [np.array(json.loads(line)) for line in done.stdout.strip().splitlines()[-len(jobs) :]]


@pytest.fixture(scope="module")
def whole_frame_run(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("export")
    data = make_tree(base / "d", per_label=12)
    run_json(
        "train", str(data), "--out", str(base / "r"), "--arch", "seed", "--epochs", "2", "--image-size", "32"
    )
    return base / "r"


def _export(source: str, folder: Path) -> tuple[Path, Path]:
    """The SavedModel and the TFLite export of a model. The prior's by the documentation's own
    lines (docs/serving.md), typed in bash as printed: `export` alone is a shell builtin."""
    if source != "prior":
        for form in ("savedmodel", "tflite"):
            run_json("export-model", source, "--out", str(folder / form), "--format", form)
        return folder / "savedmodel", folder / "tflite"
    lines = documented.lines("export-model")
    assert len(lines) == 2, lines
    for line in lines:
        done = documented.typed(line.replace("runs/latest", "prior"), folder)
        assert done.returncode == 0, (line, done.stderr[-2000:])
    return folder / "exported" / "happysad" / "1", folder / "exported" / "tflite"


def test_exports_score_as_predict_does_in_a_fresh_process(whole_frame_run, tmp_path):
    """The prior's exports (by the documentation's lines) and a whole-frame run's."""
    jobs, wanted = [], {}
    for which, source, size in (("prior", "prior", 64), ("run", str(whole_frame_run), 48)):
        images, folder = [], tmp_path / which
        folder.mkdir()
        for n, mood in enumerate(["happy", "sad"] * 3):
            images.append(tmp_path / f"{which}-{mood}{n}.{'png' if n % 2 else 'jpg'}")
            face(500 + n, mood, size).save(images[-1])
        predicted = run_json("predict", source, *map(str, images), "--no-faces")
        labels = list(predicted[0]["scores"])
        wanted[which] = np.array([[p["scores"][label] for label in labels] for p in predicted])
        saved_model, tflite = _export(source, folder)
        assert {"happysad.json", "saved_model.pb"} <= {p.name for p in saved_model.iterdir()}
        described = json.loads((tflite / "happysad.json").read_text())
        assert described["labels"] == labels and ("faces" in described) == (which == "prior")
        jobs += [("savedmodel", saved_model, images), ("tflite", tflite, images)]
    scores = iter(_fresh(jobs))
    for which, want in wanted.items():
        saved, lite = next(scores), next(scores)
        assert np.abs(saved - want).max() < 1e-4, which
        assert np.abs(lite[:, -1] - want[:, -1]).max() < 1e-2, which  # the sigmoid: P(the second label)


def test_export_of_something_that_is_not_a_run_is_one_line(tmp_path):
    result = run("export-model", str(tmp_path), "--out", str(tmp_path / "x"))
    assert result.returncode == 1 and result.stderr.strip().startswith("export-model: error:")
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "x").exists()
