"""`train`: split, fit, choose the threshold on validation, score validation and test, report."""

from __future__ import annotations

import hashlib
import json
import platform
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from trainer import data, metrics, models, report, splits
from trainer.run import point_latest


@dataclass
class TrainConfig:
    data_dir: Path
    out: Path | None = None
    arch: str = models.DEFAULT
    epochs: int = 30
    image_size: int | None = None  # default: 256 for the seed CNN (as the notebook), 128 otherwise
    seed: int = 1337
    batch_size: int = 32
    color_mode: str = "rgb"
    test_dir: Path | None = None
    patience: int = 6
    learning_rate: float = 1e-3
    mixed_precision: bool = False


@dataclass
class TrainResult:
    run: str
    labels: list[str]
    counts: dict[str, int]
    skipped: dict[str, int]
    epochs_run: int
    seconds: float
    images_per_second: float
    metrics: dict[str, dict] = field(default_factory=dict)


def _fingerprint(items: list[data.Item]) -> str:
    digest = hashlib.sha256()
    for item in sorted(items, key=lambda i: i.path):
        digest.update(f"{Path(item.path).name}\t{item.label}\t{Path(item.path).stat().st_size}\n".encode())
    return digest.hexdigest()[:16]


def _strategy(mixed_precision: bool):
    """The default strategy on CPU or one GPU; MirroredStrategy across several GPUs."""
    import keras
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        tf.config.experimental.set_memory_growth(gpu, True)
    if mixed_precision and gpus:
        keras.mixed_precision.set_global_policy("mixed_float16")
    return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()


def train(cfg: TrainConfig, on_epoch: Callable[[int, int, dict], None] | None = None) -> TrainResult:
    labels = data.labels_of(cfg.data_dir) if cfg.data_dir.is_dir() else []
    if len(labels) < 2:
        raise data.DataError(f"{cfg.data_dir} needs at least two label folders, found {labels or 'none'}")
    import keras
    import tensorflow as tf

    started = datetime.now()
    keras.utils.set_random_seed(cfg.seed)
    image_size = cfg.image_size or (256 if cfg.arch == "seed" else 128)
    channels = 1 if cfg.color_mode == "grayscale" else 3
    items, skipped = data.usable(data.list_tree(cfg.data_dir))
    if cfg.test_dir is not None:
        test_items, test_skipped = data.usable(data.list_tree(cfg.test_dir))
        skipped += test_skipped
        assignment = splits.assign(items, (0.78, 0.22), cfg.seed)
        items += [i for i in test_items if i.label in labels]
        assignment.update({i.path: "test" for i in test_items})
    else:
        assignment = splits.assign(items, (0.7, 0.2, 0.1), cfg.seed)
    run = cfg.out or Path("runs") / f"{started:%Y%m%d-%H%M%S}-{cfg.arch}"
    run.mkdir(parents=True, exist_ok=True)
    splits.write(run / "split.csv", items, assignment)
    index = {label: i for i, label in enumerate(labels)}
    subsets = {
        name: [i for i in items if assignment[i.path] == name] for name in ("train", "validation", "test")
    }
    for name, subset in subsets.items():
        if not subset:
            raise data.DataError(f"the {name} split is empty: {len(items)} usable images are too few")
    feeds = {
        name: data.pipeline(
            [i.path for i in subset],
            [index[i.label] for i in subset],
            image_size,
            channels,
            cfg.batch_size,
            shuffle=name == "train",
            seed=cfg.seed,
        )
        for name, subset in subsets.items()
    }
    binary = len(labels) == 2
    with _strategy(cfg.mixed_precision).scope():
        model = models.ARCHITECTURES[cfg.arch](image_size, channels, len(labels))
        model.compile(
            optimizer=keras.optimizers.Adam(cfg.learning_rate),
            loss="binary_crossentropy" if binary else "sparse_categorical_crossentropy",
            metrics=[keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.Precision(name="precision"),
                     keras.metrics.Recall(name="recall")] if binary
            else [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        )  # fmt: skip
    callbacks: list = [
        keras.callbacks.CSVLogger(str(run / "history.csv")),
        keras.callbacks.TensorBoard(log_dir=str(run / "tensorboard"), histogram_freq=0),
    ]
    class_weight = None
    if cfg.arch != "seed":  # the seed is trained as the notebook trained it
        callbacks += [
            keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=cfg.patience, restore_best_weights=True
            ),
            keras.callbacks.ReduceLROnPlateau(
                monitor="val_loss", factor=0.5, patience=max(1, cfg.patience // 3)
            ),
        ]
        counts = Counter(i.label for i in subsets["train"])
        class_weight = {index[c]: len(subsets["train"]) / (len(labels) * n) for c, n in counts.items()}
    if on_epoch is not None:
        callbacks.append(
            keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: on_epoch(e + 1, cfg.epochs, logs))
        )
    fit_start = datetime.now()
    history = model.fit(feeds["train"], validation_data=feeds["validation"], epochs=cfg.epochs,
                        callbacks=callbacks, class_weight=class_weight, shuffle=False, verbose=0)  # fmt: skip
    seconds = (datetime.now() - fit_start).total_seconds()
    epochs_run = len(history.history["loss"])

    scores = {name: _scores(model, feed) for name, feed in feeds.items() if name != "train"}
    truth = {name: np.array([index[i.label] for i in subsets[name]]) for name in scores}
    threshold = metrics.choose_threshold(truth["validation"], scores["validation"]) if binary else 0.5
    results = {name: metrics.summarise(truth[name], scores[name], threshold, labels) for name in scores}

    model.save(run / "model.keras")
    config = {
        "labels": labels,
        "image_size": image_size,
        "color_mode": cfg.color_mode,
        "channels": channels,
        "rescale": 1 / 255,
        "threshold": threshold,
        "arch": cfg.arch,
        "seed": cfg.seed,
        "data_dir": str(cfg.data_dir.resolve()),
        "test_dir": str(cfg.test_dir.resolve()) if cfg.test_dir else None,
        "data_fingerprint": _fingerprint(items),
        "counts": {n: len(s) for n, s in subsets.items()},
        "skipped": dict(skipped),
        "epochs": cfg.epochs,
        "epochs_run": epochs_run,
        "batch_size": cfg.batch_size,
        "learning_rate": cfg.learning_rate,
        "created": started.isoformat(timespec="seconds"),
        "versions": {
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "python": platform.python_version(),
        },
        "train_config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
    }
    (run / "config.json").write_text(json.dumps(config, indent=2))
    (run / "metrics.json").write_text(json.dumps(results, indent=2))
    _pictures(
        run, history.history, results, truth["test"], scores["test"], subsets["test"], labels, threshold
    )
    point_latest(run)
    n_train = len(subsets["train"]) * epochs_run
    return TrainResult(str(run), labels, config["counts"], dict(skipped), epochs_run, round(seconds, 1),
                       round(n_train / seconds, 1) if seconds else 0.0, results)  # fmt: skip


def _scores(model, feed) -> np.ndarray:
    out = model.predict(feed, verbose=0)
    return out.ravel() if out.shape[-1] == 1 else out


def _pictures(run, history, results, y_test, s_test, test_items, labels, threshold) -> None:
    report.curves(history, run / "curves.png")
    report.confusion(results["test"]["confusion_matrix"], labels, run / "confusion.png", "test")
    report.roc(y_test, s_test, run / "roc.png")
    predicted = metrics.predictions(s_test, threshold)
    confidence = s_test if s_test.ndim == 1 else s_test.max(axis=1)
    wrong = [i for i in range(len(y_test)) if predicted[i] != y_test[i]]
    margin = [abs(confidence[i] - threshold) if s_test.ndim == 1 else confidence[i] for i in wrong]
    worst = [wrong[i] for i in np.argsort(margin)[::-1][:16]]
    report.html_report(
        run, f"happysad run {run.name}", results,
        [(test_items[i].path, labels[y_test[i]], labels[predicted[i]], float(confidence[i])) for i in worst],
    )  # fmt: skip
