"""Labelled folder trees in, checked file lists and tf.data pipelines out.

Any `<root>/<label>/<images>` tree works; when it is a curate export, its manifest.csv
gives each file's duplicate group. Files are checked before TensorFlow sees them, so a
broken image is skipped and counted, never a crash mid-epoch.
"""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from happysad.common.decoder import decode, readable
from happysad.common.images import UPRIGHT_TURNS, ImageRejected, orientation, read_image_file
from happysad.common.tables import read_manifest
from trainer.errors import DataError

SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff"}
SHIFT = 0.08  # augmentation: shifts up to this share of the side, in whole pixels
LARGE = 5000  # training images from which augmentation is light (large sets underfit, small ones overfit)


# Data-aware input shape (train without --image-size/--color-mode): the median short side of
# the images, within these bounds. 128 px is where photos of people stopped gaining accuracy per
# minute on this machine; FER2013 faces are 48 px and upscaling them adds no detail, only cost.
SIZE_BOUNDS = (32, 128)
# --image-size's ceiling (and a run's): four times the data-aware one; beyond it one CPU epoch
# takes hours and one batch gigabytes, with nothing shown meanwhile.
MAX_IMAGE_SIZE = 512
GRAYSCALE_SHARE = 0.9  # a tree at least this grayscale trains in grayscale
GRAY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


COLOR_MODES = ("rgb", "grayscale")


def channels_of(color_mode: str) -> int:
    return 1 if color_mode == "grayscale" else 3


@dataclass(frozen=True)
class Item:
    path: str  # absolute
    label: str
    group: str
    orientation: int = 1  # EXIF orientation, read by the check (TensorFlow's decoder ignores it)


def labels_of(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def class_index(labels: list[str]) -> dict[str, int]:
    """Label → the model's output index: the run's label order (sorted folder names)."""
    return {label: i for i, label in enumerate(labels)}


def list_tree(root: Path) -> list[Item]:
    """Every image file under root/<label>/, with its duplicate group (its own path if none).

    A curate export is read from its manifest.csv: exactly the files it lists, with their
    groups, whatever else the folder holds (a missing one is then skipped as unreadable).
    """
    if not root.is_dir():
        raise DataError(f"{root} is not a folder")
    manifest = read_manifest(root)
    if manifest:
        listed = [Item(str((root / r.path).resolve()), r.label, r.group_id) for r in manifest]
        return sorted(listed, key=lambda i: Path(i.path))  # the order a walk of the folders gives
    items = []
    for label in labels_of(root):
        for path in sorted((root / label).rglob("*")):
            if path.is_file() and path.suffix.lower() in SUFFIXES:
                absolute = str(path.resolve())
                items.append(Item(absolute, label, absolute))
    return items


def check(item: Item) -> Item | str:
    """The item with its EXIF orientation when the trainer's decoder reads it, else why not."""
    try:
        _, img = readable(read_image_file(item.path))
        turn = orientation(img)
    except ImageRejected as exc:
        return exc.reason
    except OSError as exc:
        return exc.strerror or "unreadable"
    except Exception as exc:  # one odd file is skipped and counted, never a crash
        return f"undecodable: {type(exc).__name__}"
    return replace(item, orientation=turn)


def usable(items: list[Item]) -> tuple[list[Item], Counter[str]]:
    """Split items into readable ones (with their orientation) and counted reasons for the rest."""
    with ThreadPoolExecutor() as pool:
        checked = list(pool.map(check, items))
    skipped = Counter(c for c in checked if isinstance(c, str))
    return [c for c in checked if isinstance(c, Item)], skipped


@dataclass(frozen=True)
class Shape:
    """The input shape the data itself suggests, and what it was read from."""

    image_size: int
    color_mode: str
    median_side: int
    grayscale_share: float


def shape_of(paths: list[str], sample: int = 256) -> Shape:
    """Median short side (clipped to SIZE_BOUNDS) and colour mode of an even sample of the images."""
    from PIL import Image

    chosen = sorted(paths)[:: max(1, len(paths) // sample)][:sample]
    sides, gray = [], 0
    for path in chosen:
        if not os.path.isfile(path):  # a FIFO or a device would block or never end
            continue
        try:
            with Image.open(path) as img:  # the header only: no decoding
                sides.append(min(img.size))
                gray += img.mode in GRAY_MODES
        # not an image, or a bomb (a workspace's junk): not part of its shape
        except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
            continue
    if not sides:
        raise DataError("no readable images to take the input shape from")
    median = int(sorted(sides)[len(sides) // 2])
    share = gray / len(sides)
    size = min(max(median, SIZE_BOUNDS[0]), SIZE_BOUNDS[1])
    return Shape(size, "grayscale" if share >= GRAYSCALE_SHARE else "rgb", median, round(share, 3))


def model_input(raw, channels: int, image_size: int, quarter_turns=0, mirror=False):
    """Encoded bytes → the model's input: decoded, upright (EXIF's turns, as people saw it when
    labelling), resized and scaled. One path for training, `predict` and `serve`."""
    import tensorflow as tf

    image = tf.image.rot90(decode(raw, channels), quarter_turns)
    image = tf.cond(tf.convert_to_tensor(mirror), lambda: tf.image.flip_left_right(image), lambda: image)
    return prepare(image, image_size)


def prepare(image, image_size: int):
    """Resize to the model's square input and scale to [0, 1]: the one preprocessing every path shares."""
    import tensorflow as tf

    return tf.image.resize(image, (image_size, image_size)) / 255.0


def pipeline(
    paths: list[str],
    labels: list[int],
    image_size: int,
    channels: int,
    batch_size: int,
    shuffle: bool = False,
    augment: str | None = None,
    seed: int = 1337,
    orientations: list[int] | None = None,
):
    """Decode in parallel, resize, scale to [0, 1], cache, (shuffle, augment,) batch, prefetch.

    `augment`: "light" (a random mirror image and whole-pixel shifts with reflected borders)
    or "strong" (also rotation, zoom and contrast: for small sets, which overfit).

    Fixed parallelism instead of tf.data's autotuning: Keras makes a new iterator every epoch,
    and tearing one down waits for the autotuner's background thread, which stalled each
    epoch end by up to 30 s on a 2-core machine (a tenth of a FER2013 run's time).
    """
    import tensorflow as tf

    workers = os.cpu_count() or 2
    turns = [UPRIGHT_TURNS[o] for o in orientations or [1] * len(paths)]

    def load(path, label, quarter_turns, mirror):
        return model_input(tf.io.read_file(path), channels, image_size, quarter_turns, mirror), label

    columns = ([t for t, _ in turns], [m for _, m in turns])
    data = tf.data.Dataset.from_tensor_slices((paths, labels, *columns))
    data = data.map(load, num_parallel_calls=workers, deterministic=True).cache()
    if shuffle:
        data = data.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    if augment:
        pad = max(1, round(image_size * SHIFT))
        # stateless ops fed from a seed stream that differs each epoch: stateful random ops in a
        # tf.data map replay the same draws on every new iterator once a global seed is set
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(4)

        def mirror_and_shift(example, seed4):
            image, label = example
            image = tf.image.stateless_random_flip_left_right(image, seed4[:2])
            image = tf.pad(image, [[pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
            size = (image_size, image_size, channels)
            return tf.image.stateless_random_crop(image, size, seed4[2:]), label

        data = tf.data.Dataset.zip(data, seeds).map(mirror_and_shift, num_parallel_calls=workers)
    if augment == "strong":
        from keras import Sequential, layers

        jitter = Sequential(
            [layers.RandomRotation(0.06), layers.RandomZoom(0.1), layers.RandomContrast(0.15)]
        )
        # one image at a time: Keras' random layers draw from one shared seed generator, so
        # parallel calls would hand the draws out in a different order on every run
        data = data.map(lambda image, label: (jitter(image, training=True), label))
    options = tf.data.Options()
    options.autotune.enabled = False
    return data.batch(batch_size).prefetch(2).with_options(options)
