"""Generated pictures for the demo site: drawn faces that smile or frown, and web junk.

Each picture is a pure function of its arguments, so the same URL always serves the
same bytes and duplicates can be planted on purpose.
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw

SKIN = [(255, 219, 172), (241, 194, 125), (224, 172, 105), (198, 134, 66), (141, 85, 36)]


def _encode(img: Image.Image, fmt: str = "JPEG", quality: int = 90) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        img.convert("RGB").save(out, "JPEG", quality=quality)
    else:
        img.save(out, fmt)
    return out.getvalue()


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
    return img


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
