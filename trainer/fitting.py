"""Fitting one model and scoring images with it: the recipe (augmentation, learning rates,
weight averaging), a fine-tuning recipe applied when starting from another run, the scores
of each split."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainer import data, finetune, hardware, metrics, models
from trainer.config import TrainConfig
from trainer.predict import scores_of
from trainer.spec import ModelSpec


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


def _feed(
    spec: ModelSpec,
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
        spec.image_size,
        spec.channels,
        cfg.batch_size,
        shuffle=shuffle,
        augment=augment,
        seed=cfg.seed,
        orientations=[i.orientation for i in items],
    )


def tune_of(cfg: TrainConfig, spec: ModelSpec) -> finetune.Recipe:
    """The fine-tuning recipe itself: `fine_tune_of`'s, or a plain fit from scratch."""
    return finetune.RECIPES[fine_tune_of(cfg, spec)] if spec.source else finetune.Recipe()


def fine_tune_of(cfg: TrainConfig, spec: ModelSpec) -> str | None:
    """The fine-tuning recipe's name: as asked, else the default for the run it starts from."""
    if spec.source is None:
        return None
    return cfg.fine_tune or finetune.default(spec.source.is_prior)


@dataclass(frozen=True)
class Plan:
    """How one model is fitted, decided before Keras is touched (so it is tested without it)."""

    augmentation: str | None
    averaged: bool  # scores from an exponential moving average of the weights
    base_rate: float  # the peak learning rate before the fine-tuning recipe scales it
    learning_rate: float
    epochs: int
    per_epoch: int  # steps
    smoothing: float  # label smoothing
    class_weight: dict[int, float] | None
    early_stop: bool  # on validation loss, from half the budget
    as_notebook: bool  # the seed: a constant rate, no smoothing, no weights, no callbacks

    @property
    def steps(self) -> int:
        return self.epochs * self.per_epoch


def plan(
    cfg: TrainConfig,
    spec: ModelSpec,
    labels: list[str],
    train_items: list[data.Item],
    validated: bool,
    tune: finetune.Recipe,
    soft_targets: bool = False,
) -> Plan:
    """The fitting plan for `train_items`: augmentation and averaging by set size (`recipe`),
    the learning rate (asked, else by how it starts), the epochs the fine-tuning recipe
    allots, class weights that balance the labels (unless soft targets carry a balance)."""
    augmentation, averaged = recipe(spec.arch, len(train_items))
    as_notebook = spec.arch == "seed"
    base_rate = cfg.learning_rate or (
        1e-3 if as_notebook else FINE_TUNE_RATE if spec.source else SCRATCH_RATE[augmentation or "light"]
    )
    class_weight = None
    if not as_notebook and not soft_targets:
        index = data.class_index(labels)
        counts = Counter(i.label for i in train_items)
        class_weight = {index[c]: len(train_items) / (len(labels) * n) for c, n in counts.items()}
    return Plan(
        augmentation,
        averaged,
        base_rate,
        base_rate * tune.rate_scale,
        max(1, round(cfg.epochs * tune.epochs_share)),
        -(-len(train_items) // cfg.batch_size),
        0.0 if as_notebook else cfg.label_smoothing,
        class_weight,
        validated and not as_notebook,
        as_notebook,
    )


def _compile(model, the_plan: Plan, rate: float, ema: bool, binary: bool) -> None:
    import keras

    schedule = (
        rate
        if the_plan.as_notebook
        else keras.optimizers.schedules.CosineDecay(
            rate / 10, the_plan.steps, warmup_target=rate, warmup_steps=the_plan.per_epoch
        )
    )  # one epoch of warm-up, then a cosine to zero over the epoch budget
    if binary:
        loss = keras.losses.BinaryCrossentropy(label_smoothing=the_plan.smoothing)
        metrics_ = [
            keras.metrics.BinaryAccuracy(name="accuracy"),
            keras.metrics.Precision(name="precision"),
            keras.metrics.Recall(name="recall"),
        ]
    else:
        loss = keras.losses.SparseCategoricalCrossentropy()
        metrics_ = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    optimizer = keras.optimizers.Adam(schedule, use_ema=ema, ema_momentum=_ema_momentum(the_plan.steps))
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics_)


def _callbacks(the_plan: Plan, cfg: TrainConfig, given: list | None) -> list:
    """The caller's callbacks, after keeping the average (when averaged) and stopping early."""
    import keras

    ours = []
    if the_plan.early_stop:
        if the_plan.averaged:  # validate, early-stop and keep the average
            ours.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
        # not before half the budget: on small sets validation loss is noise while the
        # learning rate is high and batch-norm statistics settle
        ours.append(
            keras.callbacks.EarlyStopping(
                "val_loss",
                patience=cfg.patience,
                restore_best_weights=True,
                start_from_epoch=the_plan.epochs // 2,
            )
        )
    return ours + list(given or [])


def fit(
    cfg: TrainConfig,
    spec: ModelSpec,
    labels: list[str],
    train_items: list[data.Item],
    validation_items: list[data.Item],
    callbacks: list | None = None,
) -> Fitted:
    """Build (or start from `spec.source`, fine-tuned by the `cfg.fine_tune` recipe), compile
    and fit one model. Without validation images (a cross-fit fold) it trains the whole epoch
    budget: nothing may pick the epoch."""
    import keras

    index = data.class_index(labels)
    tune = tune_of(cfg, spec)
    binary = len(labels) == 2
    start = spec.source.load_model() if spec.source else None
    if start is not None and tune.epochs_share == 0:  # keep: the starting model as it is
        kept = sum(1 for layer in start.layers if layer.weights)  # counted as start_from counts copies
        augmentation, _ = recipe(spec.arch, len(train_items))
        return Fitted(start, {}, augmentation, False, 0.0, kept, start.dtype_policy.name)
    targets = None
    if tune.distill and binary and start is not None:
        given = np.array([index[i.label] for i in train_items])
        start_probs = score_items(start, spec, train_items, index, cfg)
        targets = finetune.distilled_targets(given, start_probs, tune.distill)
    the_plan = plan(cfg, spec, labels, train_items, bool(validation_items), tune, targets is not None)
    feed = _feed(spec, train_items, index, cfg, the_plan.augmentation, shuffle=True, targets=targets)
    validation = _feed(spec, validation_items, index, cfg) if validation_items else None
    strategy, policy = hardware.strategy(cfg.mixed_precision)
    with strategy.scope():
        model = models.ARCHITECTURES[spec.arch](spec.image_size, spec.channels, len(labels))
        copied = models.start_from(model, start) if start is not None else 0
        finetune.freeze_blocks(model, tune.frozen_blocks)
    try:
        history = _phases(
            model, the_plan, tune, binary, feed, validation, _callbacks(the_plan, cfg, callbacks)
        )
        if tune.interpolate is not None and start is not None:
            finetune.interpolate(model, start, tune.interpolate)
    finally:
        keras.mixed_precision.set_global_policy("float32")  # the policy is process-wide
    return Fitted(
        model, history, the_plan.augmentation, the_plan.averaged, the_plan.learning_rate, copied, policy
    )


def _phases(
    model, the_plan: Plan, tune: finetune.Recipe, binary: bool, feed, validation, callbacks: list
) -> dict:
    """LP-FT's head-only phase when the recipe has one, then the fit itself; its history."""
    weights = the_plan.class_weight
    if tune.head_epochs:  # LP-FT: the output layer alone, at the full rate, first
        trainable = {id(layer): layer.trainable for layer in model.layers}
        for layer in model.layers[:-1]:
            layer.trainable = False
        _compile(model, the_plan, the_plan.base_rate, False, binary)
        model.fit(feed, epochs=tune.head_epochs, class_weight=weights, shuffle=False, verbose=0)
        for layer in model.layers:
            layer.trainable = trainable[id(layer)]
    if tune.anchor:
        callbacks.append(finetune.anchor_callback(model, tune.anchor))
    _compile(model, the_plan, the_plan.learning_rate, the_plan.averaged, binary)
    history = model.fit(
        feed,
        validation_data=validation,
        epochs=the_plan.epochs,
        callbacks=callbacks,
        class_weight=weights,
        shuffle=False,
        verbose=0,
    )
    return history.history


def score_items(
    model, spec: ModelSpec, items: list[data.Item], index: dict[str, int], cfg: TrainConfig
) -> np.ndarray:
    """Scores for labelled images, preprocessed (and mirror-averaged) as in training."""
    return scores_of(model, _feed(spec, items, index, cfg), spec.arch in models.AUGMENTED)


def callbacks_for(cfg: TrainConfig, run: Path, on_epoch: Callable[[int, int, dict], None] | None) -> list:
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


def score(
    cfg: TrainConfig, spec: ModelSpec, model, labels: list[str], subsets: dict[str, list[data.Item]]
) -> Scored:
    index = data.class_index(labels)
    scores = {name: score_items(model, spec, subsets[name], index, cfg) for name in ("validation", "test")}
    truth = {name: np.array([index[i.label] for i in subsets[name]]) for name in scores}
    source = spec.source if spec.source and spec.source.labels == labels else None
    fallback = source.config.threshold if source else None
    threshold, chosen_by = metrics.decision_threshold(truth["validation"], scores["validation"], fallback)
    chosen_by = "init" if chosen_by == "fallback" else chosen_by
    results = {name: metrics.summarise(truth[name], scores[name], threshold, labels) for name in scores}
    return Scored(truth, scores, threshold, chosen_by, results)
