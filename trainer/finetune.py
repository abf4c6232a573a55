"""How a model that starts from another run's weights (the prior, `--init RUN`) is fine-tuned.

Fine-tuning the whole prior on one scrape's face crops learnt that scrape's own filing habits
and read photos from anywhere else worse than the prior alone (issue 20; `bench/cross_scrape.py`).
The known remedies are recipes here, by name (`train --fine-tune NAME`), measured side by side
on pictures from another scrape than the one trained on:

- `keep`: no fine-tuning: the starting model as it is, with its threshold;
- `plain`: every layer, the whole epoch budget (what `train` did before);
- `short`: every layer, a third of the budget;
- `frozen`: the first two conv blocks frozen (batch-norm statistics too);
- `lp-ft`: the output layer alone first (linear probe), then every layer at a tenth of the rate
  (Kumar et al. 2022);
- `l2-sp`: every step pulls each weight back toward its starting value (a decoupled L2-SP
  penalty, Li et al. 2018);
- `lwf`: the targets mix the given label with the starting model's own reading of the crop
  (learning without forgetting, Li & Hoiem 2016);
- `wise-ft`: `plain`, then the weights interpolated half-way back to the starting model's
  (WiSE-FT, Wortsman et al. 2022).

The default from the prior is `keep`: on the cross-scrape benchmark no recipe read the other
scrape's pictures better than the prior alone in both directions (balanced accuracy: prior
0.900 / 0.948; the best recipe's mean 0.926 against the prior's 0.924, one direction below it);
several ranked better (ROC-AUC) but their thresholded reading did not follow. From any other
run (`--init RUN`, a second round on your own data) the default is `plain`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Recipe:
    epochs_share: float = 1.0  # of --epochs
    frozen_blocks: int = 0  # leading conv blocks kept as they are
    head_epochs: int = 0  # LP-FT: epochs training the output layer alone first
    rate_scale: float = 1.0  # of the fine-tuning learning rate
    anchor: float = 0.0  # L2-SP: share of (weight - start) removed after each step
    distill: float = 0.0  # LwF: share of the starting model's probability in the targets
    interpolate: float | None = None  # WiSE-FT: share of the fine-tuned weights kept


RECIPES: dict[str, Recipe] = {
    "keep": Recipe(epochs_share=0.0),
    "plain": Recipe(),
    "short": Recipe(epochs_share=1 / 3),
    "frozen": Recipe(frozen_blocks=2),
    "lp-ft": Recipe(head_epochs=5, rate_scale=0.1),
    "l2-sp": Recipe(anchor=0.02),
    "lwf": Recipe(distill=0.5),
    "wise-ft": Recipe(interpolate=0.5),
}
FROM_PRIOR = "keep"  # the default when starting from the shipped prior (bench/cross_scrape.py)
FROM_RUN = "plain"  # the default when starting from another run


def default(from_prior: bool) -> str:
    return FROM_PRIOR if from_prior else FROM_RUN


def blocks_of(model) -> list[list]:
    """The model's weighted layers grouped into conv blocks (a block ends at its pooling)."""
    blocks: list[list] = [[]]
    for layer in model.layers:
        if layer.weights:
            blocks[-1].append(layer)
        if "pooling" in layer.name and blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def freeze_blocks(model, n: int) -> None:
    for block in blocks_of(model)[:n]:
        for layer in block:
            layer.trainable = False


def interpolate(model, start, share: float) -> None:
    """WiSE-FT: every weight (batch-norm statistics too) `share` of the way from `start`'s to the model's."""
    for target, origin in zip(model.weights, start.weights, strict=True):
        if tuple(target.shape) == tuple(origin.shape):
            mixed = share * target.numpy() + (1 - share) * origin.numpy().astype(target.dtype)
            target.assign(mixed)


def anchor_callback(model, strength: float):
    """L2-SP, decoupled: after each step each trainable weight moves `strength` of the way
    back to where it started, so what the starting model knows is the default it returns to."""
    import keras

    start = [w.numpy() for w in model.trainable_weights]

    class Anchor(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            for w, w0 in zip(model.trainable_weights, start, strict=True):
                w.assign(w - strength * (w - w0))

    return Anchor()


def distilled_targets(given: np.ndarray, start_probs: np.ndarray, share: float) -> np.ndarray:
    """LwF: soft targets, the given label (index into a sigmoid output) mixed with the starting
    model's P(label 1) for the same crop."""
    return (1 - share) * given.astype(float) + share * start_probs
