"""Tiny labelled trees a CNN learns in seconds: one big smiling or frowning face per image."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from PIL import Image, ImageDraw


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
