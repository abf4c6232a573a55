"""The image check that decides what enters raw/: real formats in, everything else out."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from collector.demo import pictures
from happysad.common.images import UPRIGHT_TURNS, ImageRejected, inspect_image
from tests.fixture_site import bomb_png, face_jpeg, gif_animation


def test_real_jpeg_and_png_pass_with_their_facts():
    info = inspect_image(face_jpeg(1))
    assert (info.format, info.ext, info.width, info.height) == ("JPEG", "jpg", 200, 150)
    info = inspect_image(pictures.png(pictures.face(2, "sad", (90, 70))))
    assert (info.format, info.ext, info.width, info.height) == ("PNG", "png", 90, 70)


def test_animated_gif_counts_its_frames():
    assert inspect_image(gif_animation()).frames == 2


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<!DOCTYPE html><html><body>Access denied</body></html>", "html page, not an image"),
        (b'  <svg xmlns="http://www.w3.org/2000/svg"></svg>', "svg, not a raster image"),
        (b"", "empty file"),
        (b"\x00\x01binary junk", "unknown format"),
        (face_jpeg(3)[:1200], "corrupt image"),
        (bomb_png(), "decompression bomb"),
    ],
)
def test_non_images_are_rejected_with_a_reason(data: bytes, reason: str):
    with pytest.raises(ImageRejected) as caught:
        inspect_image(data)
    assert caught.value.reason == reason


def test_pixel_cap_applies_before_decoding():
    with pytest.raises(ImageRejected) as caught:
        inspect_image(face_jpeg(4), max_pixels=100 * 100)
    assert caught.value.reason == "decompression bomb"


def test_minimum_size():
    with pytest.raises(ImageRejected) as caught:
        inspect_image(face_jpeg(5), min_width=201)
    assert caught.value.reason == "too small"
    assert inspect_image(face_jpeg(5), min_width=200, min_height=150).width == 200


def test_small_is_relative_to_the_workspace():
    from curation.scan import MIN_SIZE, data_min_size

    assert data_min_size([48] * 100) == 24  # a tree of FER2013-sized face crops
    assert data_min_size([400] * 90 + [20] * 10) == MIN_SIZE  # a web scrape: icons are small
    assert data_min_size([]) == MIN_SIZE and data_min_size([1, 1, 1]) == 1


@pytest.mark.parametrize("tag", range(1, 9))
def test_upright_turns_match_pillows_exif_transpose(tag: int):
    """The table TensorFlow-side decoding uses, checked against Pillow for every EXIF orientation."""
    pixels = np.arange(12, dtype=np.uint8).reshape(3, 4)  # no symmetry: every turn differs
    exif = Image.Exif()
    exif[0x0112] = tag
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG", exif=exif)
    turns, mirror = UPRIGHT_TURNS[tag]
    ours = np.rot90(pixels, turns)
    ours = ours[:, ::-1] if mirror else ours
    assert np.array_equal(ours, np.asarray(ImageOps.exif_transpose(Image.open(buffer))))
