"""What every benchmark prints beside its figures: the processor they were measured on and, where
training is involved, the precision policy. Training on an AVX2-only processor takes about 3x as
long as on one with AVX-512 BF16 or AMX (mixed bfloat16): a figure from one is no promise on the
other."""

from __future__ import annotations

from trainer.hardware import choose_policy, processor


def line(training: bool = False) -> str:
    """`measured on <processor>`, and the training precision when `training`."""
    said = f"measured on {processor()}"
    if training:
        said += (
            f"; training precision {choose_policy(None, 0)} (mixed bfloat16 only where the CPU computes it)"
        )
    return said
