"""Tiny labelled trees a CNN learns in seconds: one big smiling or frowning face per image."""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw

from tests.conftest import invoke

QUICK = ("--arch", "seed", "--epochs", "1", "--image-size", "32")  # a run that trains in seconds


def face(seed: int, mood: str, size: int = 48) -> Image.Image:
    rng = random.Random(seed)
    img = Image.new("RGB", (size, size), tuple(rng.randrange(60, 200) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    r = size * rng.uniform(0.36, 0.44)
    cx, cy = size / 2 + rng.uniform(-2, 2), size / 2 + rng.uniform(-2, 2)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(240, 200, 140))
    for ex in (cx - r / 2.5, cx + r / 2.5):
        draw.ellipse((ex - 2, cy - r / 3 - 2, ex + 2, cy - r / 3 + 2), fill=(20, 20, 20))
    box = (cx - r / 2, cy - r / 6, cx + r / 2, cy + r / 1.6)
    if mood == "happy":
        draw.arc(box, 10, 170, fill=(150, 0, 0), width=3)
    else:
        draw.arc((box[0], box[1] + r / 2.5, box[2], box[3] + r / 2.5), 190, 350, fill=(150, 0, 0), width=3)
    return img


def make_tree(root: Path, per_label: int = 60, offset: int = 0, groups: bool = False) -> Path:
    """root/happy, root/sad; with `groups`, near-copies in pairs and a curate-style manifest.csv."""
    rows = []
    for label in ("happy", "sad"):
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(per_label):
            seed = offset + i + (0 if label == "happy" else 10_000)
            name = f"{label}/{seed}.jpg"
            face(seed, label).save(root / name, quality=92)
            group = f"g-{label}-{i // 2}" if groups else f"s-{name}"
            rows.append({"path": name, "label": label, "sha256": "", "group_id": group, "source_url": ""})
    if groups:
        with (root / "manifest.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return root


def undecodable() -> dict[str, bytes]:
    """Files Pillow reads and TensorFlow's decoders refuse (happysad.common.decoder.verdict's cases), by name."""
    import io
    import struct

    import numpy as np

    def encoded(img: Image.Image, fmt: str, **options) -> bytes:
        buffer = io.BytesIO()
        img.save(buffer, fmt, **options)
        return buffer.getvalue()

    def smooth(seed: int) -> Image.Image:
        noise = np.random.default_rng(seed).integers(0, 255, (8, 8, 3), dtype=np.uint8)
        return Image.fromarray(noise).resize((96, 96), Image.BILINEAR)

    # a JPEG cut before its end marker that Pillow still decodes (whether it does depends on
    # how the last bytes fall: the first such seed)
    for seed in range(200):
        cut = encoded(smooth(seed), "JPEG", quality=90)[:-2]
        try:
            Image.open(io.BytesIO(cut)).load()
            break
        except OSError:
            continue
    else:
        raise AssertionError("no cut JPEG that Pillow still reads")
    png = bytearray(encoded(smooth(1), "PNG"))
    idat = png.rfind(b"IDAT")
    png[idat + 4 + struct.unpack(">I", png[idat - 4 : idat])[0]] ^= 0xFF  # the IDAT checksum
    side = 48  # a 16-bit BMP: 5-5-5 pixels, no palette
    pixels = bytes((side * 2 + 3) // 4 * 4 * side)
    header = struct.pack("<IiiHHIIiiII", 40, side, side, 1, 16, 0, len(pixels), 2835, 2835, 0, 0)
    bmp16 = b"BM" + struct.pack("<IHHI", 14 + 40 + len(pixels), 0, 0, 54) + header + pixels
    return {
        "no-end-marker.jpg": cut,
        "bad-checksum.png": bytes(png),
        "sixteen-bit.bmp": bmp16,
        "one-bit.bmp": encoded(Image.new("1", (48, 48), 1), "BMP"),
    }


def run(command: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`train`, `evaluate` or `predict` in this process: TensorFlow starts once per test worker,
    not once per call (5 s each); tests/test_help.py runs them as processes."""
    from trainer import cli

    return invoke(getattr(cli, f"{command.replace('-', '_')}_app"), command, *args)


PEAK = "peak resident MB:"  # the line `in_one_process` writes to stderr after each call

_IN_ONE_PROCESS = f"""
import json, resource, sys
from trainer import cli
for command, *args in json.loads(sys.argv[1]):
    sys.argv = [command, *args]
    try:
        getattr(cli, command.replace("-", "_") + "_main")()
    except SystemExit as done:
        if done.code:
            raise
    print("{PEAK}", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, file=sys.stderr, flush=True)
"""


def in_one_process(
    *calls: tuple[str, ...], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Trainer commands, each `(command, *args)`, called in turn in one fresh process as their
    console scripts: what a shell would see (warnings printed, memory used) with TensorFlow
    started once (5 s here, about 12 s on a slow core). A call that fails ends the process with
    its exit code; after each, stderr gets the process's peak memory so far (`PEAK`)."""
    return subprocess.run(
        [sys.executable, "-c", _IN_ONE_PROCESS, json.dumps(calls)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
    )


def peaks(done: subprocess.CompletedProcess[str]) -> list[int]:
    """The peak memory (MB) after each call of `in_one_process`."""
    return [int(line.split()[-1]) for line in done.stderr.splitlines() if line.startswith(PEAK)]


def run_json(command: str, *args: str):
    result = run(command, *args, "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)
