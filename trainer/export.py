"""`export-model`: a run's model for other runtimes, with no happysad code needed to use it.

- SavedModel: the serving signature takes encoded image bytes (a batch of strings) and does the
  run's preprocessing inside: the trainer's decoder (`happysad.common.decoder.decode`, TensorFlow ops only),
  resize, colour mode, scaling to [0, 1], and the mirror-image average when the run uses it.
  It answers `probabilities` in the run's label order. TensorFlow Serving loads the folder as
  one version of a model.
- TFLite: the classifier alone, for phones: float32 [1, size, size, channels] in [0, 1] in, the
  model's output out (a sigmoid for two labels).

Beside either, `happysad.json` says what goes in and what comes out: labels, threshold, input
shape and, for face runs, how a face crop is cut (as `curate export --faces` cuts it).
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path

from happysad.common.decoder import decode
from happysad.common.errors import first_line
from happysad.common.files import fresh_folder, replaceable
from happysad.common.tf_runtime import muted
from trainer import data, models
from trainer.run import Run

SIGNATURE = "serving_default"
INPUT = "images"  # the signature's input: encoded image bytes, one string per image
OUTPUT = "probabilities"  # [n, labels], in the run's label order
DESCRIPTION = "happysad.json"
TFLITE = "model.tflite"


class Format(str, Enum):
    savedmodel = "savedmodel"
    tflite = "tflite"


def _description(run: Run, fmt: Format) -> dict:
    size, channels = run.config.image_size, run.channels
    described = {
        "format": fmt.value,
        "labels": run.labels,
        "threshold": run.config.threshold,
        "decision": f"P({run.labels[1]}) >= threshold" if len(run.labels) == 2 else "the most probable label",
        "image_size": size,
        "color_mode": run.config.color_mode,
        "run": str(run.path),
    }
    if fmt is Format.savedmodel:
        described |= {
            "signature": SIGNATURE,
            "input": {INPUT: "encoded JPEG, PNG, GIF or BMP bytes, a batch of strings"},
            "output": {OUTPUT: f"float32 [n, {len(run.labels)}], in the order of labels"},
            "preprocessing": "inside the model: decode, resize, colour mode, scale to [0, 1]"
            + (", mean of the image and its mirror image" if run.config.flip_tta else ""),
        }
    else:
        described |= {
            "input": f"float32 [1, {size}, {size}, {channels}], pixels scaled to [0, 1]",
            "output": "float32 [1, 1]: P(" + run.labels[1] + ")"
            if len(run.labels) == 2
            else f"float32 [1, {len(run.labels)}]: softmax",
            "preprocessing": f"resize to {size}x{size}, {run.config.color_mode}, divide by 255"
            + ("; average the image's score and its mirror image's" if run.config.flip_tta else ""),
        }
    if run.config.faces:
        described["faces"] = {
            **run.config.faces.to_json(),
            "expects": "a face crop, cut as `curate export --faces` cuts it: the detector's box "
            "made square, widened by `margin` on each side; faces under `min_face` px are skipped",
        }
    return described


def _classifier(run: Run):
    """A tf.Module whose signature reads encoded images and answers probabilities."""
    import tensorflow as tf

    model = run.load_model()
    size, channels = run.config.image_size, run.channels
    flip, binary = bool(run.config.flip_tta), len(run.labels) == 2

    class Classifier(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=INPUT)])
        def serve(self, images):
            def one(raw):
                return data.prepare(decode(raw, channels, portable=True), size)

            spec = tf.TensorSpec([size, size, channels], tf.float32)
            batch = tf.map_fn(one, images, fn_output_signature=spec)
            out = tf.cast(self.model(batch, training=False), tf.float32)
            if flip:
                mirrored = tf.cast(self.model(tf.image.flip_left_right(batch), training=False), tf.float32)
                out = (out + mirrored) / 2
            return {OUTPUT: tf.concat([1 - out, out], axis=-1) if binary else out}

    return Classifier()


def _float32_copy(run: Run):
    """The model rebuilt in float32 with the run's weights: a mixed-precision model's casts do
    not convert to TFLite."""
    source = run.load_model()
    bare = models.ARCHITECTURES[run.config.arch](run.config.image_size, run.channels, len(run.labels))
    bare.set_weights(source.get_weights())
    return bare


def _save(module, folder: Path) -> None:
    """tf.saved_model.save, its write errors (a full disk is a ResourceExhaustedError, not an
    OSError) said in one line; the half-written folder is dropped by fresh_folder."""
    import tensorflow as tf

    try:
        tf.saved_model.save(module, str(folder), signatures={SIGNATURE: module.serve})
    except tf.errors.OpError as exc:
        raise OSError(f"could not write the SavedModel: {first_line(exc.message)}") from None


def export(run: Run, fmt: Format, out: Path) -> list[str]:
    """Write the export into `out` (built beside and swapped in whole); returns its files.
    `out` must be new, empty or an earlier export (its happysad.json): it is replaced whole."""
    import tensorflow as tf

    with fresh_folder(out) as building:
        replaceable(out, DESCRIPTION, "model export")
        if fmt is Format.savedmodel:
            module = _classifier(run)
            _save(module, building)
        else:
            converter = tf.lite.TFLiteConverter.from_keras_model(_float32_copy(run))
            with muted(1, 2):  # the converter prints its graph's tensors below Python
                flat = converter.convert()
            (building / TFLITE).write_bytes(flat)
        (building / DESCRIPTION).write_text(json.dumps(_description(run, fmt), indent=2))
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
