"""Generated folder trees for curation tests: planted duplicates, conflicts and junk."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw, ImageEnhance

from collector.demo import pictures
from tests.fixture_site import bomb_png, gif_animation


def jpeg(img: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def scene(seed: int, mood: str) -> Image.Image:
    return pictures.face(seed, mood, (320, 240))


def near_copies(img: Image.Image) -> dict[str, bytes]:
    """The transformations a scrape produces: thumbnail, re-encode, re-crop, watermark."""
    w, h = img.size
    marked = img.copy()
    ImageDraw.Draw(marked).text((10, h - 20), "(c) stock photos", fill=(255, 255, 255))
    return {
        "resized": jpeg(img.resize((w * 6 // 10, h * 6 // 10))),
        "reencoded": jpeg(img, 35),
        "cropped": jpeg(img.crop((w * 4 // 100, h * 4 // 100, w - w * 4 // 100, h - h * 4 // 100))),
        "watermarked": jpeg(marked),
        "brighter": jpeg(ImageEnhance.Brightness(img).enhance(1.15)),
    }


def make_tree(root: Path) -> dict[str, object]:
    """happy/ and sad/ with 8 distinct scenes each; returns what was planted where."""
    planted: dict[str, object] = {"near": {}}
    for label, mood, base in (("happy", "happy", 100), ("sad", "sad", 200)):
        folder = root / label
        folder.mkdir(parents=True)
        for i in range(8):
            (folder / f"{label}{i}.jpg").write_bytes(jpeg(scene(base + i, mood)))
    original = scene(100, "happy")
    for name, data in near_copies(original).items():
        (root / "happy" / f"happy0-{name}.jpg").write_bytes(data)
    planted["near"] = {"happy/happy0.jpg": [f"happy/happy0-{n}.jpg" for n in near_copies(original)]}
    # the same bytes filed under both labels: a conflict
    (root / "sad" / "also-happy1.jpg").write_bytes((root / "happy" / "happy1.jpg").read_bytes())
    planted["conflict"] = ("happy/happy1.jpg", "sad/also-happy1.jpg")
    # a near copy across labels: a conflict too
    (root / "sad" / "happy2-small.jpg").write_bytes(near_copies(scene(102, "happy"))["resized"])
    junk = {
        "happy/truncated.jpg": jpeg(scene(300, "happy"))[:2000],
        "happy/page.jpg": b"<!DOCTYPE html><html><body>403 Forbidden</body></html>",
        "happy/bomb.png": bomb_png(),
        "sad/icon.png": pictures.png(pictures.face(301, "sad", (24, 24))),
        "sad/anim.gif": gif_animation(),
    }
    for path, data in junk.items():
        (root / path).write_bytes(data)
    planted["flags"] = {
        "happy/truncated.jpg": "corrupt",
        "happy/page.jpg": "not_image",
        "happy/bomb.png": "bomb",
        "sad/icon.png": "small",
        "sad/anim.gif": "animated",
    }
    return planted
