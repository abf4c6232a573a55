"""Decide whether some bytes are a real raster image, without trusting names or headers.

Scraped "images" are often HTML error pages, SVG logos, truncated transfers or
decompression bombs; each is rejected here with a short reason that ends up in a
manifest, instead of crashing a later stage.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

# Pillow's own UserWarnings are about one file's damage it reads past (an EXIF tag whose data
# runs beyond the file): what a file's damage means is that file's note, never a line printed
# between a command's own (a bomb is a DecompressionBombWarning, not a UserWarning: still caught)
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")

# A scraped photo is rarely above 50 megapixels; a bomb is far above it.
MAX_PIXELS = 50_000_000
MAX_BYTES = 40 * 2**20  # the largest file taken in (collect's --max-bytes default, import's cap)

# Pillow's format name → the file extension every stage writes it under
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "BMP": "bmp", "TIFF": "tif"}
# Modes every stage can turn into RGB and L (hashing, face detection, crops). Others (LAB, HSV,
# multi-band TIFFs) are tried once and rejected as "unsupported colour mode" if they cannot.
_CONVERTIBLE = {
    "1",
    "L",
    "LA",
    "La",
    "P",
    "PA",
    "RGB",
    "RGBA",
    "RGBa",
    "RGBX",
    "CMYK",
    "YCbCr",
    "I",
    "I;16",
    "I;16L",
    "I;16B",
    "I;16N",
    "F",
}
ORIENTATION = 0x0112  # the EXIF tag


class ImageRejected(ValueError):
    """The bytes are not a usable image; `reason` is a short, stable label for manifests."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class ImageInfo:
    format: str
    ext: str
    width: int
    height: int
    mode: str
    frames: int


def read_image_file(path: str | Path, max_bytes: int = MAX_BYTES) -> bytes:
    """A file's bytes, judged before any is read: what is not a regular file (a FIFO named
    .jpg would hang the reader, a link to /dev/zero fill its memory) or is over `max_bytes` is
    rejected. Raises ImageRejected, or OSError when the file cannot be opened."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO opens at once, then is refused
    with os.fdopen(fd, "rb") as handle:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise ImageRejected("not a regular file")
        if status.st_size > max_bytes:
            raise ImageRejected("too large", f"{status.st_size} bytes > {max_bytes}")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:  # it grew after the check
        raise ImageRejected("too large", f"over {max_bytes} bytes")
    return data


def file_sha256(path: str | Path) -> str | None:
    """A picture's file by content (read as `read_image_file` reads it: bounded, a FIFO
    refused); None when it is gone or no picture's file. One digest for the manifests' and
    runs' `image_sha256`, so a file is known by the same name wherever it is looked up."""
    try:
        return hashlib.sha256(read_image_file(path)).hexdigest()
    except (OSError, ImageRejected):
        return None


def sniff(head: bytes) -> str | None:
    """Name the format from magic bytes, or None when no raster format matches."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head.startswith(b"BM"):
        return "BMP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    return None


HTML, SVG, EMPTY, UNKNOWN = (
    "html page, not an image",
    "svg, not a raster image",
    "empty file",
    "unknown format",
)
NOT_IMAGE = {HTML, SVG, EMPTY, UNKNOWN}  # the reasons of bytes that are no picture at all


def _describe_non_image(head: bytes) -> str:
    text = head.lstrip()[:256].lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in text:
        return HTML
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in head.lower()):
        return SVG
    if not head:
        return EMPTY
    return UNKNOWN


def inspect_image(
    data: bytes, *, min_width: int = 0, min_height: int = 0, max_pixels: int = MAX_PIXELS
) -> ImageInfo:
    """Check magic bytes, pixel count, then decode every pixel; raise ImageRejected if unusable."""
    return decode_image(data, min_width=min_width, min_height=min_height, max_pixels=max_pixels)[0]


def decode_image(
    data: bytes, *, min_width: int = 0, min_height: int = 0, max_pixels: int = MAX_PIXELS
) -> tuple[ImageInfo, Image.Image]:
    """`inspect_image`, also returning the decoded picture for callers that use its pixels."""
    fmt = sniff(data[:16])
    if fmt is None:
        raise ImageRejected(_describe_non_image(data[:4096]))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            width, height = img.size
            if width * height > max_pixels:
                raise ImageRejected("decompression bomb", f"{width}x{height} pixels")
            img.load()
            frames = getattr(img, "n_frames", 1)
            mode = img.mode
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("decompression bomb", str(exc)) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected("corrupt image", str(exc)) from exc
    if mode not in _CONVERTIBLE:
        try:
            img.convert("RGB")
            img.convert("L")
        except (ValueError, OSError) as exc:
            raise ImageRejected("unsupported colour mode", mode) from exc
    if width < min_width or height < min_height:
        raise ImageRejected("too small", f"{width}x{height} < {min_width}x{min_height}")
    return ImageInfo(fmt, EXTENSIONS[fmt], width, height, mode, frames), img


def orientation(img: Image.Image) -> int:
    """The EXIF orientation, 1 (as stored) when missing or malformed (a fraction, out of 1..8)."""
    try:
        value = img.getexif().get(ORIENTATION, 1)
    except (OSError, SyntaxError, ValueError, struct.error):
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


# EXIF orientation → (quarter turns counter-clockwise, then a left-right mirror) that make the
# picture upright, as ImageOps.exif_transpose does: for decoders that ignore EXIF (TensorFlow).
# Checked against exif_transpose for all eight values in tests/test_images.py.
UPRIGHT_TURNS: dict[int, tuple[int, bool]] = {
    1: (0, False), 2: (0, True), 3: (2, False), 4: (2, True),
    5: (3, True), 6: (3, False), 7: (1, True), 8: (1, False),
}  # fmt: skip


def upright(img: Image.Image) -> Image.Image:
    """The picture as people and the App see it: EXIF orientation applied when it is valid."""
    return img if orientation(img) == 1 else ImageOps.exif_transpose(img)
