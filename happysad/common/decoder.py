"""The model's decoder, in the room every stage may use: which bytes TensorFlow reads.

`decode` is the trainer's one decoder (training, `predict`, `serve`, the exported model);
`verdict` and `readable` ask it before a model sees a file, so `curate scan` flags, and export
leaves out, exactly what training would refuse. TensorFlow is imported when first needed.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

from happysad.common.images import ImageRejected, decode_image

TF_FORMATS = {"JPEG", "PNG", "GIF", "BMP"}  # what `decode` reads (other formats are skipped with a note)


def _first_frame(raw, channels: int):
    """A GIF's first frame through Pillow (TensorFlow's GIF decoder decodes every frame first:
    a 5,000-frame GIF took gigabytes). `raw`: bytes, or a 0-d object array when run eagerly."""
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(raw.item() if isinstance(raw, np.ndarray) else raw)) as img:
        picture = img.convert("L" if channels == 1 else "RGB")
    return np.asarray(picture).reshape(picture.height, picture.width, channels)


def decode(raw, channels: int, portable: bool = False):
    """The trainer's one decoder: encoded bytes (a string tensor) → uint8 [height, width,
    channels]. What it cannot read, `verdict` finds before training, prediction or export.

    JPEG and PNG through TensorFlow; a GIF's first frame only; BMP decoded to RGB first (TF's
    BMP decoder has no one-channel output) and turned grey for grayscale models. `portable`:
    TensorFlow ops only, for a SavedModel (a GIF's frames are then all decoded, the first kept).
    """
    import tensorflow as tf

    def grey(image):
        if channels == 3:
            return image
        return tf.cast(tf.round(tf.image.rgb_to_grayscale(tf.cast(image, tf.float32))), tf.uint8)

    def gif():
        if portable:
            return grey(tf.io.decode_gif(raw)[0])
        frame = tf.numpy_function(lambda b: _first_frame(b, channels), [raw], tf.uint8, stateful=False)
        return tf.reshape(frame, tf.shape(frame))

    def bmp():
        return grey(tf.io.decode_bmp(raw, channels=3))

    def other():
        return tf.io.decode_image(raw, channels=channels, expand_animations=False)

    head = tf.strings.substr(raw, 0, 3)
    image = tf.case(
        [(tf.equal(head, "GIF"), gif), (tf.equal(tf.strings.substr(head, 0, 2), "BM"), bmp)],
        default=other,
        exclusive=True,
    )
    image.set_shape([None, None, channels])
    return image


@contextmanager
def refusals() -> Iterator[None]:
    """TensorFlow's decoder refusing bytes inside the block, raised as
    ImageRejected("undecodable by TensorFlow") with its reason: one home for that reading."""
    import tensorflow as tf

    try:
        yield
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as exc:
        detail = exc.message.rsplit("}} ", 1)[-1].split(" [Op:", 1)[0]
        raise ImageRejected("undecodable by TensorFlow", detail) from None


def verdict(raw: bytes) -> None:
    """Raise ImageRejected("undecodable by TensorFlow") when `decode` fails on these bytes.

    Pillow reads files that TensorFlow's decoders refuse mid-fit: a JPEG cut before its end
    marker, a PNG whose IDAT checksum is wrong, a 16-bit BMP. Only the decoder itself agrees
    with the decoder on every such file, so it is asked, once per file.
    """
    import tensorflow as tf

    with refusals():
        decode(tf.constant(raw), 3)


def in_tf_format(raw: bytes):
    """(info, picture) of bytes in a format the trainer's decoder takes; ImageRejected otherwise.
    Whether that decoder reads these very bytes is `verdict`'s question, or, for a caller that
    decodes them next anyway, its own decode's inside `refusals()` (`serve`: one decode, not two)."""
    info, img = decode_image(raw)
    if info.format not in TF_FORMATS:
        raise ImageRejected(f"{info.format} ({info.mode}) not readable by TensorFlow")
    return info, img


def readable(raw: bytes):
    """(info, picture) of bytes the trainer's decoder reads; ImageRejected (why not) otherwise.
    The one check before a model sees an image: training, `predict` and `serve` alike."""
    info, img = in_tf_format(raw)
    verdict(raw)
    return info, img
