"""Starting TensorFlow: one way for every stage that runs a model (train, predict, review, faces)."""

from __future__ import annotations

import os


def quiet_tensorflow() -> None:
    """Import TensorFlow with its C++ start-up chatter (CUDA probing on CPU machines) muted."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as sink:
            os.dup2(sink.fileno(), 2)
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")
            tf.get_logger().setLevel("ERROR")  # retracing notes when several models predict in one process
    finally:
        os.dup2(saved, 2)
        os.close(saved)
