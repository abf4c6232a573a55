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

from faces import crops
from trainer import compare, data, hardware, metrics, models, report, splits
from trainer.predict import scores_of
from trainer.run import Run, open_run, point_latest


@dataclass
class TrainConfig:
    data_dir: Path
    out: Path | None = None
    arch: str | None = None  # default: the --init run's, else models.DEFAULT
    epochs: int = 30
    image_size: int | None = (
        None  # default: the --init run's, else 256 for the seed CNN (as the notebook), 128
    )
    seed: int = 1337
    batch_size: int = 32
    color_mode: str | None = None  # default: the --init run's, else rgb
    test_dir: Path | None = None
    patience: int = 6
    learning_rate: float | None = None  # default: 1e-3 for the seed (Adam's default), 2e-3 otherwise
    mixed_precision: bool | None = None  # None: bfloat16 on CPUs that compute it, float32 elsewhere
    label_smoothing: float = 0.1  # binary models other than the seed
    init: Path | None = None  # start from this run's weights (fine-tuning)


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
    compared_to: compare.Comparison | None = None


def _fingerprint(items: list[data.Item]) -> str:
    digest = hashlib.sha256()
    for item in sorted(items, key=lambda i: i.path):
        digest.update(f"{Path(item.path).name}\t{item.label}\t{Path(item.path).stat().st_size}\n".encode())
    return digest.hexdigest()[:16]


def _ema_momentum(steps: int) -> float:
    """Average over the last ~200 steps (a fraction of an epoch on a large set), fewer when
    training is shorter, so the untrained start never dominates."""
    return min(0.995, max(0.5, 1 - 10 / max(1, steps)))


def recipe(arch: str, n_train: int) -> tuple[str | None, bool]:
    """How to train `arch` on n_train images: (augmentation, average the weights?).

    Large sets underfit in the time budget: light augmentation, and scores from an exponential
    moving average of the weights (smoother than the last step's). Small sets overfit: strong
    augmentation, and no averaging (their few dozen steps are too few to average; the demo's
    mislabel ranking is steadier without it). The seed is trained as the notebook trained it.
    """
    if arch not in models.AUGMENTED:
        return None, False
    large = n_train >= data.LARGE
    return ("light" if large else "strong"), large


def _face_crops(data_dir: Path) -> dict | None:
    """How the training images were cut, when they are `curate export --faces` crops."""
    how = data_dir / crops.SETTINGS
    return json.loads(how.read_text()) if how.is_file() else None


def _shape(cfg: TrainConfig) -> tuple[str, int, str, Run | None]:
    """Architecture, image size and colour mode: as asked, else the --init run's, else defaults."""
    source = open_run(cfg.init) if cfg.init else None
    base = source.config if source else {}
    arch = cfg.arch or base.get("arch") or models.DEFAULT
    image_size = cfg.image_size or base.get("image_size") or (256 if arch == "seed" else 128)
    color_mode = cfg.color_mode or base.get("color_mode") or "rgb"
    if source and (arch, image_size, color_mode) != (base["arch"], base["image_size"], base["color_mode"]):
        raise data.DataError(
            f"--init {cfg.init} is a {base['arch']} model for {base['image_size']} px {base['color_mode']} "
            "images: leave out --arch, --image-size and --color-mode, or give the same ones"
        )
    return arch, image_size, color_mode, source


def train(cfg: TrainConfig, on_epoch: Callable[[int, int, dict], None] | None = None) -> TrainResult:
    labels = data.labels_of(cfg.data_dir) if cfg.data_dir.is_dir() else []
    if len(labels) < 2:
        raise data.DataError(f"{cfg.data_dir} needs at least two label folders, found {labels or 'none'}")
    import keras
    import tensorflow as tf

    started = datetime.now()
    keras.utils.set_random_seed(cfg.seed)
    arch, image_size, color_mode, source = _shape(cfg)
    channels = 1 if color_mode == "grayscale" else 3
    items, skipped = data.usable(data.list_tree(cfg.data_dir))
    if cfg.test_dir is not None:
        test_items, test_skipped = data.usable(data.list_tree(cfg.test_dir))
        skipped += test_skipped
        assignment = splits.assign(items, (0.9, 0.1), cfg.seed)  # validation only picks epoch and threshold
        items += [i for i in test_items if i.label in labels]
        assignment.update({i.path: "test" for i in test_items})
    else:
        assignment = splits.assign(items, (0.7, 0.2, 0.1), cfg.seed)
    run = cfg.out or Path("runs") / f"{started:%Y%m%d-%H%M%S}-{arch}"
    run.mkdir(parents=True, exist_ok=True)
    splits.write(run / "split.csv", items, assignment)
    index = {label: i for i, label in enumerate(labels)}
    subsets = {
        name: [i for i in items if assignment[i.path] == name] for name in ("train", "validation", "test")
    }
    for name, subset in subsets.items():
        if not subset:
            raise data.DataError(f"the {name} split is empty: {len(items)} usable images are too few")
    augmentation, averaged = recipe(arch, len(subsets["train"]))
    feeds = {
        name: data.pipeline(
            [i.path for i in subset],
            [index[i.label] for i in subset],
            image_size,
            channels,
            cfg.batch_size,
            shuffle=name == "train",
            augment=augmentation if name == "train" else None,
            seed=cfg.seed,
        )
        for name, subset in subsets.items()
    }
    binary = len(labels) == 2
    seed_arch = arch == "seed"  # the seed is trained as the notebook trained it
    learning_rate = cfg.learning_rate or (1e-3 if seed_arch else 5e-4 if source else 2e-3)
    steps = cfg.epochs * -(-len(subsets["train"]) // cfg.batch_size)
    strategy, policy = hardware.strategy(cfg.mixed_precision)
    with strategy.scope():
        model = models.ARCHITECTURES[arch](image_size, channels, len(labels))
        copied = models.start_from(model, source.load_model()) if source else 0
        schedule = (
            learning_rate
            if seed_arch
            else keras.optimizers.schedules.CosineDecay(
                learning_rate / 10, steps, warmup_target=learning_rate, warmup_steps=steps // cfg.epochs
            )
        )  # one epoch of warm-up, then a cosine to zero over the epoch budget
        smoothing = 0.0 if seed_arch else cfg.label_smoothing
        optimizer = keras.optimizers.Adam(schedule, use_ema=averaged, ema_momentum=_ema_momentum(steps))
        model.compile(
            optimizer=optimizer,
            loss=keras.losses.BinaryCrossentropy(label_smoothing=smoothing) if binary
            else keras.losses.SparseCategoricalCrossentropy(),
            metrics=[keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.Precision(name="precision"),
                     keras.metrics.Recall(name="recall")] if binary
            else [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        )  # fmt: skip
    callbacks: list = [
        keras.callbacks.CSVLogger(str(run / "history.csv")),
        keras.callbacks.TensorBoard(log_dir=str(run / "tensorboard"), histogram_freq=0),
    ]
    class_weight = None
    if not seed_arch:
        if averaged:  # validate, early-stop and keep the average
            callbacks.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
        callbacks.append(
            # not before half the budget: on small sets validation loss is noise while the
            # learning rate is high and batch-norm statistics settle
            keras.callbacks.EarlyStopping(
                "val_loss", patience=cfg.patience, restore_best_weights=True, start_from_epoch=cfg.epochs // 2
            )
        )
        counts = Counter(i.label for i in subsets["train"])
        class_weight = {index[c]: len(subsets["train"]) / (len(labels) * n) for c, n in counts.items()}
    if on_epoch is not None:
        callbacks.append(
            keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: on_epoch(e + 1, cfg.epochs, logs))
        )
    fit_start = datetime.now()
    try:
        history = model.fit(
            feeds["train"], validation_data=feeds["validation"], epochs=cfg.epochs, callbacks=callbacks,
            class_weight=class_weight, shuffle=False, verbose=0,
        )  # fmt: skip
    finally:
        keras.mixed_precision.set_global_policy("float32")  # the policy is process-wide
    seconds = (datetime.now() - fit_start).total_seconds()
    epochs_run = len(history.history["loss"])

    flip = arch in models.AUGMENTED
    scores = {name: scores_of(model, feed, flip) for name, feed in feeds.items() if name != "train"}
    truth = {name: np.array([index[i.label] for i in subsets[name]]) for name in scores}
    threshold = metrics.choose_threshold(truth["validation"], scores["validation"]) if binary else 0.5
    results = {name: metrics.summarise(truth[name], scores[name], threshold, labels) for name in scores}

    model.save(run / "model.keras")
    config = {
        "labels": labels,
        "image_size": image_size,
        "color_mode": color_mode,
        "channels": channels,
        "rescale": 1 / 255,
        "threshold": threshold,
        "flip_tta": flip,
        "augmentation": augmentation,
        "weight_average": averaged,
        "precision_policy": policy,
        "arch": arch,
        "init": {"run": str(source.path), "layers_copied": copied} if source else None,
        "seed": cfg.seed,
        "data_dir": str(cfg.data_dir.resolve()),
        "test_dir": str(cfg.test_dir.resolve()) if cfg.test_dir else None,
        "data_fingerprint": _fingerprint(items),
        "faces": _face_crops(cfg.data_dir),
        "counts": {n: len(s) for n, s in subsets.items()},
        "skipped": dict(skipped),
        "epochs": cfg.epochs,
        "epochs_run": epochs_run,
        "batch_size": cfg.batch_size,
        "learning_rate": learning_rate,
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
    comparison = compare.compare(run, config, results)
    point_latest(run)
    n_train = len(subsets["train"]) * epochs_run
    return TrainResult(str(run), labels, config["counts"], dict(skipped), epochs_run, round(seconds, 1),
                       round(n_train / seconds, 1) if seconds else 0.0, results, comparison)  # fmt: skip


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
