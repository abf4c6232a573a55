"""Architectures by name: the seed notebook's CNN, exactly, and a stronger default."""

from __future__ import annotations

from collections.abc import Callable


def _head(n_classes: int):
    from keras import layers

    # float32 even under mixed precision: probabilities near 0 and 1 need the range
    return (
        layers.Dense(1, activation="sigmoid", dtype="float32")
        if n_classes == 2
        else layers.Dense(n_classes, activation="softmax", dtype="float32")
    )


def seed(image_size: int, channels: int, n_classes: int):
    """The tutorial's model as it was: Conv2D 16/32/16 + MaxPooling2D, Flatten, Dense 256, sigmoid."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input((image_size, image_size, channels)),
            layers.Conv2D(16, (3, 3), 1, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(32, (3, 3), 1, activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(16, (3, 3), 1, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(256, activation="relu"),
            _head(n_classes),
        ],
        name="seed",
    )


# filters of each block's two 3x3 convolutions; each block ends in 2x2 pooling. Measured on
# FER2013 in the 15-minute budget: cheaper first blocks (24 filters, or one convolution at full
# resolution) buy more epochs but end about 0.005 lower; a face's fine detail is at full size.
WIDTHS = (32, 64, 128, 256)


def compact(image_size: int, channels: int, n_classes: int):
    """The default: conv blocks with batch norm, global pooling, dropout; trained on augmented
    copies (AUGMENTED: in the input pipeline, where a shift is a cheap crop).

    Sized for a 2-core CPU, where FER2013 at 48 px trains in a quarter of an hour (docs/benchmarks.md,
    bench/train_benchmark.py). There it
    underfits rather than overfits (training accuracy still rising at the end), so on large
    sets augmentation is light (mirror, shifts): rotation, zoom and contrast cost accuracy per
    minute. Small sets overfit and get all of them (fitting.recipe).
    """
    import keras
    from keras import layers

    inputs = x = keras.Input((image_size, image_size, channels))
    for filters in WIDTHS:
        for _ in range(2):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization(momentum=0.9)(x)  # settles within a few dozen steps
            x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D()(x)
        x = layers.Dropout(0.1)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.4)(x)
    return keras.Model(inputs, _head(n_classes)(x), name="compact")


def start_from(model, source) -> int:
    """Copy `source`'s weights into `model` layer by layer wherever the shapes agree (all of
    them for the same architecture, input and classes; all but the head for another class
    count). Returns how many layers were copied."""
    copied = 0
    weighted = [[layer for layer in m.layers if layer.weights] for m in (model, source)]
    for target, origin in zip(*weighted, strict=False):
        weights = origin.get_weights()
        if weights and [w.shape for w in weights] == [w.shape for w in target.get_weights()]:
            target.set_weights(weights)
            copied += 1
    return copied


ARCHITECTURES: dict[str, Callable] = {"compact": compact, "seed": seed}
# trained on augmented copies (fitting.recipe picks data.pipeline's augment=), mirror images
# included, so their scores average an image and its mirror image
AUGMENTED = {"compact"}
DEFAULT = "compact"
