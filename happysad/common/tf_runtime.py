"""Starting TensorFlow: one way for every stage that runs a model (train, predict, review, faces)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, redirect_stdout


@contextmanager
def muted(*descriptors: int) -> Iterator[None]:
    """Send what is written to these file descriptors (2: stderr by default) nowhere for the
    block: TensorFlow's start-up and converters print below Python, where no logger reaches,
    and Keras prints with print()."""
    sys.stdout.flush()
    sys.stderr.flush()
    chosen = descriptors or (2,)
    saved = [os.dup(fd) for fd in chosen]
    try:
        with open(os.devnull, "w") as sink, ExitStack() as python:
            for fd in chosen:
                os.dup2(sink.fileno(), fd)
            if 1 in chosen:  # Python's own prints too (Keras announces what it saved)
                python.enter_context(redirect_stdout(sink))
            yield
            sys.stdout.flush()
    finally:
        for fd, copy in zip(chosen, saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)


def quiet_tensorflow() -> None:
    """Import TensorFlow with its C++ start-up chatter (CUDA probing on CPU machines) muted."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with muted():
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")
        tf.get_logger().setLevel("ERROR")  # retracing notes when several models predict in one process
