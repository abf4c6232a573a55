"""Generated pictures for the demo site: drawn faces that smile or frown, and web junk.

Each picture is a pure function of its arguments, so the same URL always serves the
same bytes and duplicates can be planted on purpose.
"""

from __future__ import annotations

import io
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SKIN = [(255, 219, 172), (241, 194, 125), (224, 172, 105), (198, 134, 66), (141, 85, 36)]


def _encode(img: Image.Image, fmt: str = "JPEG", quality: int = 90) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        img.convert("RGB").save(out, "JPEG", quality=quality)
    else:
        img.save(out, fmt)
    return out.getvalue()


def grain(img: Image.Image, seed: int, sigma: float = 3.0) -> Image.Image:
    """Sensor-like noise, the same for the same seed: drawn flat colours read as a photo's
    texture, not as clip art (curation.quality's low_information: entropy 2.7 → 5.5 after JPEG)."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, sigma, (img.height, img.width, 1))
    noisy = np.asarray(img.convert("RGB"), dtype=np.float32) + noise
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def face(seed: int, mood: str, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A scene with one to three drawn faces whose mouths all show `mood` (happy or sad)."""
    rng = random.Random(seed)
    width, height = size
    bg = tuple(rng.randrange(40, 230) for _ in range(3))
    img = Image.new("RGB", size, bg)
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randrange(3, 8)):  # clutter, so pictures differ beyond the faces
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(5, 40)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.rectangle((x - r, y - r, x + r, y + r), fill=colour)
    for _ in range(rng.randrange(1, 4)):
        r = rng.randrange(min(size) // 6, min(size) // 3)
        cx = rng.randrange(r, width - r)
        cy = rng.randrange(r, height - r)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=rng.choice(SKIN), outline=(40, 30, 20))
        eye = max(2, r // 7)
        for ex in (cx - r // 3, cx + r // 3):
            draw.ellipse((ex - eye, cy - r // 4 - eye, ex + eye, cy - r // 4 + eye), fill=(20, 20, 20))
        mouth = (cx - r // 2, cy - r // 6, cx + r // 2, cy + r // 2)
        line = max(3, r // 5)  # bold, so the mood survives the trainer's downscaling
        if mood == "happy":
            draw.arc(mouth, 10, 170, fill=(120, 20, 20), width=line)
        else:
            low = (mouth[0], cy + r // 4, mouth[2], cy + r // 4 + 2 * r // 3)
            draw.arc(low, 190, 350, fill=(60, 20, 20), width=line)
    return grain(img, seed)


PHOTO_SKIN = [(236, 188, 150), (224, 172, 130)]  # darker drawn skin on these backgrounds fools MTCNN


def draw_face(img: Image.Image, cx: int, cy: int, r: int, mood: str, skin: tuple[int, int, int]) -> None:
    """A face of half-height r centred at (cx, cy); its box is about (cx-0.8r, cy-r, 1.6r, 2r)."""
    draw = ImageDraw.Draw(img)
    draw.ellipse((cx - int(r * 0.8), cy - r, cx + int(r * 0.8), cy + r), fill=skin)
    draw.chord(
        (cx - int(r * 0.85), cy - int(r * 1.08), cx + int(r * 0.85), cy + int(r * 0.2)),
        180,
        360,
        fill=(60, 40, 25),
    )
    ey, ex, ew, eh = cy - int(r * 0.15), int(r * 0.35), int(r * 0.16), int(r * 0.08)
    for side in (-1, 1):
        x = cx + side * ex
        draw.ellipse((x - ew, ey - eh, x + ew, ey + eh), fill=(245, 245, 245))
        draw.ellipse((x - eh, ey - eh, x + eh, ey + eh), fill=(50, 35, 20))
        draw.line(
            (x - ew, ey - int(r * 0.22), x + ew, ey - int(r * 0.25)), fill=(50, 35, 20), width=max(2, r // 14)
        )
    draw.line(
        (cx, ey + int(r * 0.05), cx - int(r * 0.07), cy + int(r * 0.3)),
        fill=(170, 110, 80),
        width=max(2, r // 18),
    )
    my, mw = cy + int(r * 0.55), int(r * 0.32)
    if mood == "happy":
        draw.chord((cx - mw, my - int(r * 0.18), cx + mw, my + int(r * 0.18)), 0, 180, fill=(150, 40, 40))
    else:
        draw.arc(
            (cx - mw, my, cx + mw, my + int(r * 0.3)), 200, 340, fill=(120, 40, 40), width=max(2, r // 10)
        )


def people(seed: int, mood: str, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A photo-like scene: one to three shaded faces (hair, eyes, brows, nose, lips) that MTCNN
    finds, all showing `mood`, among clutter; what the demo's searches for people return."""
    rng = random.Random(seed)
    width, height = size
    background = Image.new("RGB", size, tuple(base + rng.randrange(-25, 26) for base in (90, 120, 160)))
    img = grain(background, seed, 4)  # a photo's texture behind the faces, which stay as drawn
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randrange(3, 8)):  # clutter behind the faces: 0 near-duplicate pairs among
        x, y = rng.randrange(width), rng.randrange(height)  # 100 pictures (6 with less of it)
        r = rng.randrange(5, 40)
        draw.rectangle((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    count = rng.randrange(1, 4)  # MTCNN finds a face in 95 of 100 such pictures (4:3 at 168-546 px,
    slot = width // count  # JPEG quality 55-90); one or two bigger faces, 79-90
    for k in range(count):
        r = rng.randrange(28, min(44, slot // 2 - 4))
        cx = slot * k + slot // 2 + rng.randrange(-4, 5)
        cy = rng.randrange(r + 12, height - r - 4)
        draw_face(img, cx, cy, r, mood, rng.choice(PHOTO_SKIN))
    return img.filter(ImageFilter.GaussianBlur(0.8))


def banner(seed: int, text: str, size: tuple[int, int] = (400, 120)) -> Image.Image:
    """A text banner: the logos and quote cards that image searches mix into results."""
    rng = random.Random(seed)
    img = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for row in range(3):
        draw.text((12, 12 + row * 30), text.upper(), fill=(255, 255, 255))
    return img


def jpeg(img: Image.Image, quality: int = 90) -> bytes:
    return _encode(img, "JPEG", quality)


def png(img: Image.Image) -> bytes:
    return _encode(img, "PNG")


def thumbnail(img: Image.Image, longest: int = 120) -> Image.Image:
    copy = img.copy()
    copy.thumbnail((longest, longest))
    return copy
