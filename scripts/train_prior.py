"""Regenerate the shipped expression model ("prior") from FER2013 happy-vs-sad.

    .venv/bin/python scripts/train_prior.py [--fer DIR] [--epochs 45] [--seed 1337]

Trains the default architecture at 48 px grayscale on FER2013's train split (an internal
90/10 split picks the epoch and the threshold), scores it on FER2013's validation split,
then writes trainer/prior/: model.keras (weights only, no optimizer state: under 10 MB),
config.json, metrics.json and MODEL_CARD.md. Deterministic under --seed on one machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from happysad.common.tf_runtime import quiet_tensorflow  # noqa: E402
from trainer.run import PRIOR_DIR  # noqa: E402

SHARED = ROOT.parent / "shared" / "datasets" / "fer2013-happy-sad"
# 45 epochs: the 15-minute recipe (17 epochs) still underfits (training accuracy rising at the
# end); a longer cosine schedule is the cheapest gain and fits the hour regeneration budget.
# The whole schedule runs (patience = epochs) and the weights of the epoch with the lowest
# validation loss are kept. Measured: that was epoch 27, and FER2013 validation accuracy 0.935
# whether training stopped early (at 33) or ran all 45 epochs: the low-rate tail overfits.
# Tried and not shipped (docs/benchmarks.md, "A stronger prior?"): strong augmentation, wider
# blocks, distillation from three models' mean (0.940 on FER2013, but worse on both scrapes),
# ensembles and shifted views. The recipe is not what holds it at 0.935; the data is (half of
# the train split: 0.919, a quarter: 0.900).
EPOCHS = 45

CARD = """# happysad prior: happy vs sad from a face

A {arch} CNN for {size} px grayscale face crops, shipped inside the package so that
`predict prior --faces`, `evaluate prior DIR --faces`, `train --init prior` and
`curate review --predictions prior` work without any training data at hand.

| | |
| --- | --- |
| data | FER2013 happy vs sad: train split, {n_train} images (a 90/10 internal split picks \
the epoch and the threshold); scored on its validation split, {n_test} images |
| command | `.venv/bin/python scripts/train_prior.py --epochs {epochs} --seed {seed}` |
| commit | {commit} |
| training | {epochs_run} of {epochs} epochs, {seconds:.0f} s on {machine} |
| FER2013 validation | accuracy **{accuracy:.3f}**, balanced accuracy {balanced:.3f}, \
ROC-AUC {roc_auc:.3f}, n = {n} |
| preprocessing | grayscale, resized to {size}×{size}, pixels scaled to [0, 1]; scores \
average the image and its mirror image; threshold {threshold:.3f} on P({positive}) |

## Intended use
Reading happy vs sad on a cropped, roughly frontal face: by itself (`predict prior photo.jpg`
finds the faces first), as what `train` keeps on your own face crops unless told to fine-tune
(`--fine-tune NAME`: no recipe read another scrape's photos better than this model alone), and
as independent evidence when reviewing labels (`curate review --predictions prior`). It is not an
emotion recogniser for people in general: FER2013 faces are posed and spontaneous web faces,
mostly adult, and its labels are themselves noisy (human agreement on FER2013 is about 65% over
seven classes). Do not use it to make decisions about people.

## Data terms
FER2013 (Goodfellow et al., "Challenges in Representation Learning", ICML 2013 workshop) was
released for that Kaggle challenge for research use; its images were gathered from web image
searches and their copyright stays with their owners. This model was trained on it for research
and evaluation; check FER2013's terms before any other use.
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fer", type=Path, default=SHARED)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--out", type=Path, default=PRIOR_DIR)
    args = parser.parse_args()
    quiet_tensorflow()
    from trainer.predict import evaluate
    from trainer.record import Metrics
    from trainer.run import open_run

    result, config = _train(args)
    config.write(args.out)
    # scored again as shipped (float32, no optimizer), so the card's figures are the file's
    test = evaluate(open_run(args.out), args.fer / "validation")
    test.pop("skipped", None)
    Metrics({**result.metrics, "test": test}).write(args.out)
    (args.out / "MODEL_CARD.md").write_text(_card(args, config, result, test))
    size = (args.out / "model.keras").stat().st_size
    print(f"prior: accuracy {test['accuracy']:.3f} on FER2013 validation; {size / 1e6:.1f} MB → {args.out}")


def _train(args: argparse.Namespace):
    """Train in a temporary run; write its model to `args.out` as a fresh float32 copy, never
    compiled (no optimizer state in the file: a third the size); the run's settings as shipped."""
    import dataclasses

    import keras

    from trainer import face_scoring, models
    from trainer.config import TrainConfig
    from trainer.record import CONFIG, RunConfig
    from trainer.train import train

    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "prior"
        cfg = TrainConfig(
            args.fer / "train",
            out=run,
            arch="compact",
            epochs=args.epochs,
            image_size=48,
            seed=args.seed,
            color_mode="grayscale",
            test_dir=args.fer / "validation",
            init=Path("none"),
            patience=args.epochs,
        )
        result = train(cfg, lambda e, n, logs: print(f"epoch {e}/{n} val_loss {logs.get('val_loss', 0):.4f}"))
        config = RunConfig.read(run / CONFIG)
        bare = models.ARCHITECTURES[config.arch](config.image_size, config.channels, 2)
        bare.set_weights(keras.models.load_model(run / "model.keras").get_weights())
        args.out.mkdir(parents=True, exist_ok=True)
        bare.save(args.out / "model.keras")
    # a shipped model records what it was trained on, not this machine's temporary paths
    data_dir, test_dir = "fer2013-happy-sad/train", "fer2013-happy-sad/validation"
    shipped = dataclasses.replace(
        config,
        data_dir=data_dir,
        data_dir_from_run=None,
        test_dir=test_dir,
        train_config=config.train_config | {"data_dir": data_dir, "test_dir": test_dir, "out": None},
        name="prior",
        faces=face_scoring.DEFAULTS,  # a face model: predict --faces and review cut faces as FER2013's
        commit=_commit(),
    )
    return result, shipped


def _commit() -> str:
    git = ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"]
    done = subprocess.run(git, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def _card(args: argparse.Namespace, config, result, test: dict) -> str:
    import platform

    return CARD.format(
        arch=config.arch,
        size=config.image_size,
        n_train=sum(config.counts[s] for s in ("train", "validation")),
        n_test=config.counts["test"],
        epochs=args.epochs,
        seed=args.seed,
        commit=config.commit,
        epochs_run=result.epochs_run,
        seconds=result.seconds,
        machine=f"{os.cpu_count()}-core {platform.machine()} CPU",
        accuracy=test["accuracy"],
        balanced=test["balanced_accuracy"],
        roc_auc=test["roc_auc"],
        n=test["n"],
        threshold=config.threshold,
        positive=config.labels[1],
    )


if __name__ == "__main__":
    main()
