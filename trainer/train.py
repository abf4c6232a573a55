"""`train`: split, fit, choose the threshold on validation, score validation and test, report."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import platform
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path

import numpy as np

from common.files import fresh_folder
from faces import crops
from trainer import compare, data, finetune, hardware, metrics, models, report, splits
from trainer.predict import scores_of
from trainer.run import OUT_OF_FOLD, PRIOR_DIR, Run, open_run, point_latest

NO_INIT = "none"  # --init none: from scratch, even on face crops


@dataclass
class TrainConfig:
    data_dir: Path
    out: Path | None = None
    arch: str | None = None  # default: the --init run's, else models.DEFAULT
    epochs: int = 30
    image_size: int | None = None  # default: the --init run's, else 256 for the seed CNN, else the data's
    seed: int = 1337
    batch_size: int = 32
    color_mode: str | None = None  # default: the --init run's, else the data's
    test_dir: Path | None = None
    patience: int = 6
    learning_rate: float | None = (
        None  # default: 1e-3 for the seed (Adam's), FINE_TUNE_RATE from a run, else 2e-3
    )
    mixed_precision: bool | None = None  # None: bfloat16 on CPUs that compute it, float32 elsewhere
    label_smoothing: float = 0.1  # binary models other than the seed
    init: Path | None = None  # start from this run's weights; None: the prior on face crops; "none": scratch
    cross_fit: int = 0  # K >= 2: out-of-fold probabilities for every training and validation image
    clean_labels: bool = False  # leave out what evidence that never saw the labels disputes
    fine_tune: str | None = None  # how a run started from another's weights is fine-tuned (finetune.default)


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
    label_issues: int = 0
    evidence: str | None = None  # what judged the labels: "out_of_fold", "prior", or None
    vs_prior: dict[str, float] | None = None  # face runs: test figures minus the prior's on the same crops
    fine_tune: str | None = None  # the recipe, when the run started from another's weights


@dataclass(frozen=True)
class ModelSpec:
    """What is trained: architecture, input, the run it starts from, and where each choice came from."""

    arch: str
    image_size: int
    color_mode: str
    source: Run | None
    chosen_by: dict[str, str]

    @property
    def channels(self) -> int:
        return data.channels_of(self.color_mode)

    @classmethod
    def of_run(cls, run: Run) -> ModelSpec:
        """The spec a run was trained with, to score images as it does."""
        return cls(run.config["arch"], run.config["image_size"], run.config["color_mode"], run, {})


@dataclass
class Fitted:
    model: object
    history: dict[str, list[float]]
    augmentation: str | None
    averaged: bool
    learning_rate: float
    layers_copied: int
    policy: str  # the dtype policy it was trained in


# Peak learning rates. From scratch, large sets (FER2013) train fastest at 2e-3; small ones
# (under data.LARGE, strongly augmented) at 2e-3 sometimes never take off (the demo's cleaned
# set at seed 1337: validation accuracy 0.61, test 0.36; at 1e-3: 0.79 and 0.77).
# Fine-tuning: a quarter of the large-set rate keeps what the source knows while the head and
# batch-norm statistics adapt.
SCRATCH_RATE = {"light": 2e-3, "strong": 1e-3}
FINE_TUNE_RATE = 5e-4
# Cross-fit fold models started from another run (the prior) train this share of --epochs: they
# only judge labels, and the prior already reads faces. On FER2013 with 10% of labels flipped
# (bench/faces_kfold.py, the loop) a third found as many flips as the whole budget in a third
# of the time.
FOLD_EPOCHS_FROM_SOURCE = 1 / 3


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


def _source(cfg: TrainConfig, faces: dict | None) -> Run | None:
    """The run to start from: --init, else the prior for face crops trained at its own shape."""
    if cfg.init is not None:
        return None if str(cfg.init) == NO_INIT else open_run(cfg.init)
    if faces and cfg.image_size is None and cfg.color_mode is None and cfg.arch in (None, models.DEFAULT):
        return open_run(PRIOR_DIR)
    return None


def _shape(cfg: TrainConfig, items: list[data.Item], faces: dict | None) -> ModelSpec:
    """Architecture, image size and colour mode: as asked, else the --init run's, else the data's."""
    source = _source(cfg, faces)
    base = source.config if source else {}
    arch = cfg.arch or base.get("arch") or models.DEFAULT
    if source and (arch, cfg.image_size or base["image_size"], cfg.color_mode or base["color_mode"]) != (
        base["arch"],
        base["image_size"],
        base["color_mode"],
    ):
        raise data.DataError(
            f"--init {cfg.init} is a {base['arch']} model for {base['image_size']} px {base['color_mode']} "
            "images: leave out --arch, --image-size and --color-mode, or give the same ones"
        )
    measured = None if source or arch == "seed" else data.shape_of([i.path for i in items])

    def pick(asked, key: str, seed_default):
        if asked:
            return asked, "asked"
        if source:
            return base[key], "prior" if source.is_prior else "init"
        if arch == "seed":
            return seed_default, "seed notebook"
        return getattr(measured, key), "data"

    (size, size_by), (colour, colour_by) = (
        pick(cfg.image_size, "image_size", 256),
        pick(cfg.color_mode, "color_mode", "rgb"),
    )
    chosen = {"image_size": size_by, "color_mode": colour_by}
    if measured:
        chosen |= {
            "data_median_side": str(measured.median_side),
            "data_grayscale": str(measured.grayscale_share),
        }
    return ModelSpec(arch, size, colour, source, chosen)


def _feed(
    shape: ModelSpec,
    items: list[data.Item],
    index: dict[str, int],
    cfg: TrainConfig,
    augment=None,
    shuffle: bool = False,
    targets: np.ndarray | None = None,
):
    """The images as a batched feed; `targets` (soft labels) in place of their class indices."""
    return data.pipeline(
        [i.path for i in items],
        [index[i.label] for i in items] if targets is None else [float(t) for t in targets],
        shape.image_size,
        shape.channels,
        cfg.batch_size,
        shuffle=shuffle,
        augment=augment,
        seed=cfg.seed,
        orientations=[i.orientation for i in items],
    )


def _fine_tune(cfg: TrainConfig, shape: ModelSpec) -> str | None:
    """The fine-tuning recipe's name: as asked, else the default for the run it starts from."""
    if shape.source is None:
        return None
    return cfg.fine_tune or finetune.default(shape.source.is_prior)


def fit(
    cfg: TrainConfig,
    shape: ModelSpec,
    labels: list[str],
    train_items: list[data.Item],
    validation_items: list[data.Item],
    callbacks: list | None = None,
) -> Fitted:
    """Build (or start from `shape.source`, fine-tuned by the `cfg.fine_tune` recipe), compile
    and fit one model. Without validation images (a cross-fit fold) it trains the whole epoch
    budget: nothing may pick the epoch."""
    import keras

    index = data.class_index(labels)
    augmentation, averaged = recipe(shape.arch, len(train_items))
    tune = finetune.RECIPES[_fine_tune(cfg, shape)] if shape.source else finetune.Recipe()
    binary = len(labels) == 2
    start = shape.source.load_model() if shape.source else None
    if start is not None and tune.epochs_share == 0:  # keep: the starting model as it is
        kept = sum(1 for layer in start.layers if layer.weights)  # counted as start_from counts copies
        return Fitted(start, {}, augmentation, False, 0.0, kept, start.dtype_policy.name)
    targets = None
    if tune.distill and binary and start is not None:
        given = np.array([index[i.label] for i in train_items])
        start_probs = score_items(start, shape, train_items, index, cfg)
        targets = finetune.distilled_targets(given, start_probs, tune.distill)
    feed = _feed(shape, train_items, index, cfg, augmentation, shuffle=True, targets=targets)
    validation = _feed(shape, validation_items, index, cfg) if validation_items else None
    seed_arch = shape.arch == "seed"  # the seed is trained as the notebook trained it
    base_rate = cfg.learning_rate or (
        1e-3 if seed_arch else FINE_TUNE_RATE if shape.source else SCRATCH_RATE[augmentation or "light"]
    )
    learning_rate = base_rate * tune.rate_scale
    epochs = max(1, round(cfg.epochs * tune.epochs_share))
    per_epoch = -(-len(train_items) // cfg.batch_size)
    steps = epochs * per_epoch
    strategy, policy = hardware.strategy(cfg.mixed_precision)
    with strategy.scope():
        model = models.ARCHITECTURES[shape.arch](shape.image_size, shape.channels, len(labels))
        copied = models.start_from(model, start) if start is not None else 0
        finetune.freeze_blocks(model, tune.frozen_blocks)
    smoothing = 0.0 if seed_arch else cfg.label_smoothing
    loss = (
        keras.losses.BinaryCrossentropy(label_smoothing=smoothing) if binary
        else keras.losses.SparseCategoricalCrossentropy()
    )  # fmt: skip

    def compile_(rate, ema: bool) -> None:
        schedule = (
            rate
            if seed_arch
            else keras.optimizers.schedules.CosineDecay(
                rate / 10, steps, warmup_target=rate, warmup_steps=per_epoch
            )
        )  # one epoch of warm-up, then a cosine to zero over the epoch budget
        optimizer = keras.optimizers.Adam(schedule, use_ema=ema, ema_momentum=_ema_momentum(steps))
        model.compile(
            optimizer=optimizer, loss=loss,
            metrics=[keras.metrics.BinaryAccuracy(name="accuracy"), keras.metrics.Precision(name="precision"),
                     keras.metrics.Recall(name="recall")] if binary
            else [keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        )  # fmt: skip

    callbacks = list(callbacks or [])
    class_weight = None
    if not seed_arch:
        if averaged and validation is not None:  # validate, early-stop and keep the average
            callbacks.insert(0, keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
        if validation is not None:
            callbacks.insert(
                1 if averaged else 0,
                # not before half the budget: on small sets validation loss is noise while the
                # learning rate is high and batch-norm statistics settle
                keras.callbacks.EarlyStopping(
                    "val_loss", patience=cfg.patience, restore_best_weights=True,
                    start_from_epoch=epochs // 2,
                ),
            )  # fmt: skip
        if targets is None:  # soft targets carry the starting model's balance already
            counts = Counter(i.label for i in train_items)
            class_weight = {index[c]: len(train_items) / (len(labels) * n) for c, n in counts.items()}
    try:
        if tune.head_epochs:  # LP-FT: the output layer alone, at the full rate, first
            trainable = {id(layer): layer.trainable for layer in model.layers}
            for layer in model.layers[:-1]:
                layer.trainable = False
            compile_(base_rate, False)
            model.fit(feed, epochs=tune.head_epochs, class_weight=class_weight, shuffle=False, verbose=0)
            for layer in model.layers:
                layer.trainable = trainable[id(layer)]
        if tune.anchor:
            callbacks.append(finetune.anchor_callback(model, tune.anchor))
        compile_(learning_rate, averaged)
        history = model.fit(
            feed, validation_data=validation, epochs=epochs, callbacks=callbacks,
            class_weight=class_weight, shuffle=False, verbose=0,
        )  # fmt: skip
        if tune.interpolate is not None and start is not None:
            finetune.interpolate(model, start, tune.interpolate)
    finally:
        keras.mixed_precision.set_global_policy("float32")  # the policy is process-wide
    return Fitted(model, history.history, augmentation, averaged, learning_rate, copied, policy)


def score_items(
    model, shape: ModelSpec, items: list[data.Item], index: dict[str, int], cfg: TrainConfig
) -> np.ndarray:
    """Scores for labelled images, preprocessed (and mirror-averaged) as in training."""
    return scores_of(model, _feed(shape, items, index, cfg), shape.arch in models.AUGMENTED)


def fold_probabilities(
    cfg: TrainConfig,
    shape: ModelSpec,
    labels: list[str],
    items: list[data.Item],
    on_fold: Callable[[int, int], None] | None = None,
    others: list[data.Item] | None = None,
) -> tuple[np.ndarray, dict[str, int], np.ndarray]:
    """Out-of-fold probabilities: each image scored by a model trained without its fold (folds
    keep duplicate groups whole), so a memorised label cannot vouch for itself. `others` (the
    test split), which no fold trains on, are scored by the mean of the fold models."""
    index = data.class_index(labels)
    fold_of = splits.folds(items, cfg.cross_fit, cfg.seed)
    if shape.source:  # a model that already reads faces needs only a few epochs to judge labels
        cfg = replace(cfg, epochs=max(1, round(cfg.epochs * FOLD_EPOCHS_FROM_SOURCE)))
    out = np.zeros((len(items), len(labels)))
    ensemble = np.zeros((len(others or []), len(labels)))
    for fold in range(cfg.cross_fit):
        held = [n for n, i in enumerate(items) if fold_of[i.path] == fold]
        rest = [i for i in items if fold_of[i.path] != fold]
        if not held or len({i.label for i in rest}) < len(labels):
            raise data.DataError(f"--cross-fit {cfg.cross_fit}: too few images for that many folds")
        fitted = fit(cfg, shape, labels, rest, [])
        out[held] = metrics.probabilities(
            score_items(fitted.model, shape, [items[n] for n in held], index, cfg)
        )
        if others:
            ensemble += (
                metrics.probabilities(score_items(fitted.model, shape, others, index, cfg)) / cfg.cross_fit
            )
        if on_fold is not None:
            on_fold(fold + 1, cfg.cross_fit)
    return out, fold_of, ensemble


def label_issues(given: np.ndarray, probs: np.ndarray, units: list[str] | None = None) -> np.ndarray:
    """Which labels the evidence disputes: cleanlab's confident learning (a boolean mask).

    `units`: what each label was given to. Face crops inherit their picture's label, and a
    picture is scored by its faces together; so a label is judged per picture (its duplicate
    group), on the mean of its crops' probabilities, and a disputed picture leaves all its
    crops out. Judged crop by crop, a "happy people" photo's one unsmiling face was cut, and
    the fine-tune learnt less of how such pictures are labelled (bench/faces_kfold.py).
    """
    from cleanlab.filter import find_label_issues

    if units is not None:
        index = {unit: n for n, unit in enumerate(dict.fromkeys(units))}
        at = np.array([index[u] for u in units])
        counts = np.bincount(at)
        pooled = np.zeros((len(index), probs.shape[1]))
        np.add.at(pooled, at, probs)
        unit_given = np.zeros(len(index), dtype=int)
        unit_given[at] = given  # one label per unit: the export gives a group one label
        return label_issues(unit_given, pooled / counts[:, None])[at]
    if min(np.bincount(given, minlength=probs.shape[1])) < 2:
        return np.zeros(len(given), dtype=bool)  # confident learning needs every class
    return find_label_issues(given, probs, filter_by="prune_by_noise_rate", n_jobs=1)  # no forks beside TF


def _write_out_of_fold(
    path: Path, items: list[data.Item], probs: np.ndarray, fold_of: dict[str, int | str], labels: list[str]
) -> None:
    """out_of_fold.csv: each image, its fold ("test": scored by the mean of the fold models) and
    the probabilities of models that never trained on it."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "group", "fold", *(f"p_{label}" for label in labels)])
        for item, row in zip(items, probs, strict=True):
            writer.writerow(
                [item.path, item.label, item.group, fold_of[item.path], *(f"{p:.6f}" for p in row)]
            )


def _split(cfg: TrainConfig, labels: list[str]) -> tuple[list[data.Item], Counter[str], dict[str, str]]:
    """Readable images, skipped ones by reason, and each image's split (groups kept whole)."""
    items, skipped = data.usable(data.list_tree(cfg.data_dir))
    empty = [label for label in labels if not any(i.label == label for i in items)]
    if empty:
        raise data.DataError(f"{cfg.data_dir}: no readable image labelled {', '.join(empty)}")
    if cfg.test_dir is None:
        return items, skipped, splits.assign(items, (0.7, 0.2, 0.1), cfg.seed)
    test_items, test_skipped = data.usable(data.list_tree(cfg.test_dir))
    assignment = splits.assign(items, (0.9, 0.1), cfg.seed)  # validation only picks epoch and threshold
    assignment.update({i.path: "test" for i in test_items})
    return items + [i for i in test_items if i.label in labels], skipped + test_skipped, assignment


def _evidence_kind(cfg: TrainConfig, shape: ModelSpec, labels: list[str]) -> str | None:
    """What can judge the labels without having trained on them, if anything."""
    if cfg.cross_fit >= 2:
        return "out_of_fold"
    prior = shape.source is not None and shape.source.is_prior and shape.source.labels == labels
    return "prior" if prior else None


def _evidence(
    cfg: TrainConfig,
    shape: ModelSpec,
    labels: list[str],
    pool: list[data.Item],
    test: list[data.Item],
    run: Path,
    on_fold: Callable[[int, int], None] | None,
) -> tuple[str | None, np.ndarray | None]:
    """Probabilities for the training and validation images from models that did not train on
    them: out-of-fold with --cross-fit, else the prior's when training starts from it."""
    kind = _evidence_kind(cfg, shape, labels)
    if kind == "out_of_fold":
        probs, fold_of, ensemble = fold_probabilities(cfg, shape, labels, pool, on_fold, test)
        written: dict[str, int | str] = {**fold_of, **{i.path: "test" for i in test}}
        _write_out_of_fold(run / OUT_OF_FOLD, pool + test, np.concatenate([probs, ensemble]), written, labels)
        return kind, probs
    if kind == "prior":
        assert shape.source is not None
        index = data.class_index(labels)
        return kind, metrics.probabilities(score_items(shape.source.load_model(), shape, pool, index, cfg))
    return None, None


def train(
    cfg: TrainConfig,
    on_epoch: Callable[[int, int, dict], None] | None = None,
    on_fold: Callable[[int, int], None] | None = None,
) -> TrainResult:
    """Split, choose the shape, judge the labels (optional), fit, score, write the run."""
    labels = data.labels_of(cfg.data_dir) if cfg.data_dir.is_dir() else []
    if len(labels) < 2:
        raise data.DataError(f"{cfg.data_dir} needs at least two label folders, found {labels or 'none'}")
    import keras

    started = datetime.now()
    keras.utils.set_random_seed(cfg.seed)
    items, skipped, assignment = _split(cfg, labels)
    faces = _face_crops(cfg.data_dir)
    shape = _shape(cfg, items, faces)
    if cfg.clean_labels and _evidence_kind(cfg, shape, labels) is None:
        raise data.DataError(
            "--clean-labels needs evidence from models that did not see the labels: "
            "--cross-fit K, or face crops trained from the prior"
        )
    final = cfg.out or Path("runs") / f"{started:%Y%m%d-%H%M%S}-{shape.arch}"
    with fresh_folder(final) as run:  # built beside, swapped in whole; a killed run's swap is undone
        judged = _judge_labels(cfg, shape, labels, items, assignment, run, faces, on_fold)
        splits.write(run / "split.csv", items, assignment)
        subsets = _subsets(items, assignment)
        keras.utils.set_random_seed(cfg.seed)  # the same model whether or not folds were trained first
        fit_start = datetime.now()
        callbacks = _callbacks(cfg, run, on_epoch)
        fitted = fit(cfg, shape, labels, subsets["train"], subsets["validation"], callbacks)
        seconds = (datetime.now() - fit_start).total_seconds()
        scored = _score(cfg, shape, fitted.model, labels, subsets)
        beside = _beside_prior(cfg, labels, subsets["test"], _faces_setting(faces, shape))
        if beside is not None:
            scored.results[PRIOR_ON_TEST] = beside
        config = _config(
            cfg, shape, labels, fitted, items, subsets, skipped, started, faces, scored, judged, final
        )
        _write_run(run, fitted, config, scored, subsets["test"], labels, judged.left_out)
    run = final
    comparison = compare.compare(run, config, scored.results)
    point_latest(run)
    epochs_run = config["epochs_run"]
    n_train = len(subsets["train"]) * epochs_run
    return TrainResult(str(run), labels, config["counts"], dict(skipped), epochs_run, round(seconds, 1),
                       round(n_train / seconds, 1) if seconds else 0.0, scored.results, comparison,
                       len(judged.left_out), judged.evidence,
                       compare.delta(scored.results["test"], beside) if beside else None,
                       config["fine_tune"])  # fmt: skip


PRIOR_ON_TEST = "prior on test"  # metrics.json: the shipped prior alone on a face run's test crops


def _faces_setting(faces: dict | None, shape: ModelSpec) -> dict | None:
    """How the run's pictures are cut into faces: as its crops were, else as the face model it
    started from (the prior) cut them, crops exported or not; None for whole-frame runs."""
    return faces or (shape.source.config.get("faces") if shape.source else None)


def _beside_prior(
    cfg: TrainConfig, labels: list[str], test: list[data.Item], faces: dict | None
) -> dict | None:
    """A face run's test crops read by the prior alone, at its own threshold: the figure that
    says whether training on this data helped at all (on new photos it often does not)."""
    prior = open_run(PRIOR_DIR)
    if not faces or prior.labels != labels:
        return None
    shape = ModelSpec.of_run(prior)
    index = data.class_index(labels)
    scores = score_items(prior.load_model(), shape, test, index, cfg)
    truth = np.array([index[i.label] for i in test])
    return metrics.summarise(truth, scores, prior.config["threshold"], labels)


@dataclass
class Judged:
    """What judged the labels, whether cleaning was on, and what it left out of training
    (path, given label, label read, its probability; likeliest wrong first)."""

    evidence: str | None
    cleaned: bool
    left_out: list[tuple[str, str, str, float]]


def _judge_labels(
    cfg: TrainConfig,
    shape: ModelSpec,
    labels: list[str],
    items: list[data.Item],
    assignment: dict[str, str],
    run: Path,
    faces: dict | None,
    on_fold: Callable[[int, int], None] | None,
) -> Judged:
    """With --cross-fit or --clean-labels, probabilities for the training pool from models that
    never saw it; with --clean-labels, what they dispute moves to the label_issue split (in
    `assignment`). The prior's opinion is only worth computing to clean with; out-of-fold
    probabilities are also kept for review."""
    clean = bool(cfg.clean_labels)  # opt-in: on the seed scrape it did not help (bench/faces_kfold.py)
    if not (clean or cfg.cross_fit):
        return Judged(None, clean, [])
    pool = [i for i in items if assignment[i.path] != "test"]
    test = [i for i in items if assignment[i.path] == "test"]
    evidence, probs = _evidence(cfg, shape, labels, pool, test, run, on_fold)
    if not clean or probs is None:
        return Judged(evidence, clean, [])
    index = data.class_index(labels)
    units = [i.group for i in pool] if faces else None  # crops: judged by picture
    mask = label_issues(np.array([index[i.label] for i in pool]), probs, units)
    assignment.update({i.path: splits.LABEL_ISSUE for i, bad in zip(pool, mask, strict=True) if bad})
    read = probs.argmax(axis=1)
    left_out = [
        (i.path, i.label, labels[read[n]], float(probs[n, read[n]])) for n, i in enumerate(pool) if mask[n]
    ]
    return Judged(evidence, clean, sorted(left_out, key=lambda row: -row[3]))


def _subsets(items: list[data.Item], assignment: dict[str, str]) -> dict[str, list[data.Item]]:
    """The images of each split fit and scoring use; none may be empty."""
    subsets = {
        name: [i for i in items if assignment[i.path] == name] for name in ("train", "validation", "test")
    }
    for name, subset in subsets.items():
        if not subset:
            raise data.DataError(f"the {name} split is empty: {len(items)} usable images are too few")
    return subsets


def _callbacks(cfg: TrainConfig, run: Path, on_epoch: Callable[[int, int, dict], None] | None) -> list:
    """history.csv, TensorBoard logs, and the caller's progress."""
    import keras

    callbacks: list = [
        keras.callbacks.CSVLogger(str(run / "history.csv")),
        keras.callbacks.TensorBoard(log_dir=str(run / "tensorboard"), histogram_freq=0),
    ]
    if on_epoch is not None:
        callbacks.append(
            keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: on_epoch(e + 1, cfg.epochs, logs))
        )
    return callbacks


@dataclass
class Scored:
    """The fitted model on validation and test: truths, scores, the threshold chosen on
    validation, and the metrics of both at that threshold."""

    truth: dict[str, np.ndarray]
    scores: dict[str, np.ndarray]
    threshold: float
    threshold_from: (
        str  # validation (from scratch, or large enough to move it), init (the starting run's), argmax
    )
    results: dict[str, dict]


def _score(
    cfg: TrainConfig, shape: ModelSpec, model, labels: list[str], subsets: dict[str, list[data.Item]]
) -> Scored:
    index = data.class_index(labels)
    scores = {name: score_items(model, shape, subsets[name], index, cfg) for name in ("validation", "test")}
    truth = {name: np.array([index[i.label] for i in subsets[name]]) for name in scores}
    source = shape.source if shape.source and shape.source.labels == labels else None
    fallback = source.config["threshold"] if source else None
    threshold, chosen_by = metrics.decision_threshold(truth["validation"], scores["validation"], fallback)
    chosen_by = "init" if chosen_by == "fallback" else chosen_by
    results = {name: metrics.summarise(truth[name], scores[name], threshold, labels) for name in scores}
    return Scored(truth, scores, threshold, chosen_by, results)


def _write_run(
    run: Path,
    fitted: Fitted,
    config: dict,
    scored: Scored,
    test_items: list[data.Item],
    labels: list[str],
    left_out: list[tuple[str, str, str, float]],
) -> None:
    """model.keras, config.json, metrics.json and the pictures, in the run's staging folder."""
    fitted.model.save(run / "model.keras")
    (run / "config.json").write_text(json.dumps(config, indent=2))
    (run / "metrics.json").write_text(json.dumps(scored.results, indent=2))
    _report_pictures(run, fitted.history, scored.results, scored.truth["test"], scored.scores["test"],
                     test_items, labels, scored.threshold, left_out)  # fmt: skip


def _config(
    cfg: TrainConfig,
    shape: ModelSpec,
    labels: list[str],
    fitted: Fitted,
    items: list[data.Item],
    subsets: dict[str, list[data.Item]],
    skipped: Counter[str],
    started: datetime,
    faces: dict | None,
    scored: Scored,
    judged: Judged,
    final: Path,
) -> dict:
    """config.json: everything predict needs, and everything that says how the run was made."""
    import keras
    import tensorflow as tf

    source = shape.source
    return {
        "labels": labels,
        "image_size": shape.image_size,
        "color_mode": shape.color_mode,
        "channels": shape.channels,
        "shape_from": shape.chosen_by,
        "rescale": 1 / 255,
        "threshold": scored.threshold,
        "threshold_from": scored.threshold_from,
        "flip_tta": shape.arch in models.AUGMENTED,
        "augmentation": fitted.augmentation,
        "weight_average": fitted.averaged,
        "precision_policy": fitted.policy,
        "arch": shape.arch,
        "init": {"run": str(source.path), "layers_copied": fitted.layers_copied} if source else None,
        "seed": cfg.seed,
        "data_dir": str(cfg.data_dir.resolve()),
        "data_dir_from_run": os.path.relpath(cfg.data_dir.resolve(), final.resolve()),  # see run.data_dir_of
        "test_dir": str(cfg.test_dir.resolve()) if cfg.test_dir else None,
        "data_fingerprint": _fingerprint(items),
        "faces": _faces_setting(faces, shape),
        "counts": {n: len(s) for n, s in subsets.items()},
        "skipped": dict(skipped),
        "epochs": cfg.epochs,
        "epochs_run": len(fitted.history.get("loss", [])),
        "fine_tune": _fine_tune(cfg, shape),
        "batch_size": cfg.batch_size,
        "learning_rate": fitted.learning_rate,
        "cross_fit": cfg.cross_fit,
        "created": started.isoformat(timespec="seconds"),
        "versions": {
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "python": platform.python_version(),
        },
        "train_config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "label_cleaning": {
            "evidence": judged.evidence,
            "on": judged.cleaned,
            "left_out": len(judged.left_out),
            "out_of_fold": OUT_OF_FOLD if judged.evidence == "out_of_fold" else None,
        },
    }


def _report_pictures(run, history, results, y_test, s_test, test_items, labels, threshold, left_out) -> None:
    report.curves(history, run / "curves.png")
    report.confusion(results["test"]["confusion_matrix"], labels, run / "confusion.png", "test")
    report.roc(y_test, s_test, run / "roc.png")
    predicted, confidence = metrics.read(s_test, threshold)
    wrong = [i for i in range(len(y_test)) if predicted[i] != y_test[i]]
    margin = [abs(s_test[i] - threshold) if s_test.ndim == 1 else confidence[i] for i in wrong]
    worst = [wrong[i] for i in np.argsort(margin)[::-1][:16]]
    report.html_report(
        run, f"happysad run {run.name}", results,
        [(test_items[i].path, labels[y_test[i]], labels[predicted[i]], float(confidence[i])) for i in worst],
        left_out,
    )  # fmt: skip
