"""Scenes with drawn faces at known places (and pictures with none) that a real detector finds.

The faces are shaded enough (hair, eyes with whites, brows, nose, lips) for MTCNN to fire on
them; the mouth smiles or frowns, so crops carry the label.
"""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

from collector.demo.pictures import PHOTO_SKIN as SKIN
from collector.demo.pictures import draw_face, grain
from happysad.faces.detectors import Face


def scene(seed: int, mood: str, faces: int, size: tuple[int, int] = (320, 240)) -> tuple[Image.Image, list]:
    """A picture with `faces` faces side by side; returns it and their (x, y, w, h) boxes relative to it."""
    rng = random.Random(seed)
    width, height = size
    background = Image.new("RGB", size, tuple(base + rng.randrange(-12, 13) for base in (90, 120, 160)))
    img = grain(background, seed, 4)  # a photo's texture behind the faces, which stay as drawn
    boxes = []
    slot = width // max(1, faces)
    for k in range(faces):
        r = rng.randrange(28, min(44, slot // 2 - 4))
        cx = slot * k + slot // 2 + rng.randrange(-4, 5)
        cy = rng.randrange(r + 12, height - r - 4)
        draw_face(img, cx, cy, r, mood, rng.choice(SKIN))
        boxes.append(((cx - 0.8 * r) / width, (cy - r) / height, 1.6 * r / width, 2 * r / height))
    return img.filter(ImageFilter.GaussianBlur(0.8)), boxes


def banner(seed: int, size: tuple[int, int] = (320, 120)) -> Image.Image:
    """Text and blocks, no face: what `no_face` should catch."""
    rng = random.Random(seed)
    img = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for _ in range(4):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        draw.rectangle(
            (x, y, x + rng.randrange(10, 60), y + rng.randrange(10, 40)), fill=(rng.randrange(256), 0, 90)
        )
    draw.text((12, 50), "HAPPY PEOPLE CLUB", fill=(255, 255, 255))
    return img


def make_scenes(root: Path, per_label: int = 8, banners: int = 2) -> dict[str, list]:
    """root/<label>/scene-<i>.jpg with 1–3 faces each, plus banners; returns file name → true boxes."""
    truth: dict[str, list] = {}
    for label in ("happy", "sad"):
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(per_label):
            seed = i + (0 if label == "happy" else 1000)
            img, boxes = scene(seed, label, 1 + i % 3)
            name = f"{label}/scene-{seed}.jpg"
            img.save(root / name, quality=92)
            truth[name] = boxes
        for i in range(banners):
            name = f"{label}/banner-{label}-{i}.png"
            banner(i + (0 if label == "happy" else 50)).save(root / name)
            truth[name] = []
    return truth


def face_crop_tree(root: Path, per_label: int = 8) -> Path:
    """FER2013-like: 48 px grayscale crops of drawn faces, no face search needed to read them."""
    for n in range(2 * per_label):
        mood = ("happy", "sad")[n % 2]
        img, [(x, y, w, h)] = scene(100 + n, mood, 1)
        side = max(w * img.width, h * img.height) * 1.3
        cx, cy = (x + w / 2) * img.width, (y + h / 2) * img.height
        box = (cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
        (root / mood).mkdir(parents=True, exist_ok=True)
        img.crop(tuple(map(round, box))).convert("L").resize((48, 48)).save(root / mood / f"{n}.png")
    return root


def iou(face: Face, box: tuple[float, float, float, float]) -> float:
    """Intersection over union of a detected face and a drawn box (both relative to the picture)."""
    x, y, w, h = box
    ix = max(0.0, min(face.x + face.w, x + w) - max(face.x, x))
    iy = max(0.0, min(face.y + face.h, y + h) - max(face.y, y))
    inter = ix * iy
    return inter / (face.w * face.h + w * h - inter)
