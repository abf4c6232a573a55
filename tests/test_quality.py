"""Image-quality issues: each flag on generated pictures, what `scan` and `status` say, the tags
and views in the App, and an export that leaves out only the junk (and lets a `keep` back in)."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from PIL import Image, ImageFilter

from collector.demo.pictures import grain
from curation import quality
from tests.conftest import curate_json
from tests.faces_data import scene

pytestmark = pytest.mark.timeout(300)


def _photo(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A drawn scene with a photo's grain: what the checks must leave alone."""
    img, _ = scene(seed, "happy" if seed % 2 else "sad", 1 + seed % 3, size)
    return img


def _flagged(pictures: dict[str, Image.Image]) -> dict[str, set[str]]:
    verdicts = quality.judge({name: quality.measure(img) for name, img in pictures.items()})
    return {name: {v.issue for v in found if v.flagged} for name, found in verdicts.items()}


def test_each_issue_is_flagged_on_the_picture_that_has_it_and_photos_are_not():
    photos = {f"photo{i}": _photo(i) for i in range(12)}
    planted = {
        "blank": Image.new("RGB", (300, 300), (255, 255, 255)),
        "solid": Image.new("RGB", (320, 240), (30, 120, 200)),
        "dark": Image.eval(_photo(20), lambda v: v // 16),
        "light": Image.eval(_photo(21), lambda v: 246 + v // 28),
        "blurry": Image.merge("RGB", [Image.linear_gradient("L").resize((320, 240))] * 3),  # no edge at all
        "strip": _photo(23, (900, 240)).crop((0, 90, 900, 150)),
        "gray": grain(_photo(24), 24, 10).convert("L"),  # a gray photo: its grain keeps its detail
        "huge": _photo(25).resize((3000, 2250)),
    }
    flagged = _flagged({**photos, **planted})
    assert all(flagged[name] == set() for name in photos), {n: flagged[n] for n in photos}
    assert "low_information" in flagged["blank"] and "low_information" in flagged["solid"]
    assert "dark" in flagged["dark"] and "light" in flagged["light"]
    assert "blurry" in flagged["blurry"] and "odd_aspect_ratio" in flagged["strip"]
    assert flagged["gray"] == {"grayscale"} and flagged["huge"] == {"odd_size"}
    assert quality.junk_of(quality.judge({"gray": quality.measure(planted["gray"])})["gray"]) == []


def test_blur_is_judged_at_one_size_so_a_blurred_thumbnail_is_flagged_and_a_sharp_one_not():
    """A 100 px thumbnail measured at its own size kept enough JPEG detail to pass blurred."""
    photo = grain(_photo(30, (640, 480)), 30, 10)
    pictures = {"sharp-640": photo}
    for name, img in {"sharp": photo, "blurred": photo.filter(ImageFilter.GaussianBlur(16))}.items():
        small = img.copy()
        small.thumbnail((100, 100))
        encoded = io.BytesIO()
        small.save(encoded, "JPEG", quality=90)  # JPEG's blocks are what read as detail
        pictures[f"{name}-100"] = Image.open(encoded)
    flagged = _flagged(pictures)
    assert {name for name, found in flagged.items() if "blurry" in found} == {"blurred-100"}


def test_scores_run_from_the_issue_at_its_worst_to_none():
    verdicts = quality.judge(
        {"blank": quality.measure(Image.new("RGB", (200, 200))), "photo": quality.measure(_photo(3))}
    )
    for found in verdicts.values():
        assert [v.issue for v in found] == list(quality.ISSUES)
        assert all(0.0 <= v.score <= 1.0 for v in found)
    low = {
        name: next(v.score for v in found if v.issue == "low_information") for name, found in verdicts.items()
    }
    assert low["blank"] < quality.THRESHOLDS["low_information"] < low["photo"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("quality-tree")
    rng = random.Random(0)
    for label in ("happy", "sad"):
        (root / label).mkdir()
        for i in range(6):
            _photo(rng.randrange(10_000)).save(root / label / f"photo{i}.jpg", quality=90)
    Image.new("RGB", (320, 240), (250, 250, 250)).save(root / "happy" / "blank.png")
    dim = Image.merge("RGB", [Image.effect_noise((320, 240), 60 + 10 * c) for c in range(3)])  # like no scene
    Image.eval(dim, lambda v: v // 6).save(root / "sad" / "nearly-black.jpg", quality=90)
    grain(_photo(8), 8, 10).convert("L").save(root / "sad" / "gray.jpg", quality=90)
    return root


def _junk(export: dict) -> dict[str, int]:
    return {why: n for why, n in export["left_out"].items() if why.startswith("looks like junk")}


def test_scan_status_review_and_export_treat_junk_and_odd_pictures_apart(tree, tmp_path, fiftyone_env):
    data = tmp_path / "ws"
    curate_json("import", str(tree), data=data)
    scanned = curate_json("scan", data=data)
    # the blank tile is also light and has no detail (blurry)
    want = {"low_information": 1, "light": 1, "blurry": 1, "dark": 1, "grayscale": 1}
    assert scanned["quality"] == want and scanned["junk"] == 2
    assert curate_json("status", data=data)["quality"] == scanned["quality"]
    curate_json("dedupe", data=data)
    exported = curate_json("export", data=data)
    assert _junk(exported) == {"looks like junk: low_information": 1, "looks like junk: dark": 1}
    assert exported["exported"] + sum(exported["left_out"].values()) == 15  # the grayscale photo is not junk

    from curation.database import fiftyone

    review = curate_json("review", "--no-app", data=data, env=fiftyone_env)
    dataset = fiftyone().load_dataset(review["dataset"])
    junk = dataset.load_saved_view("looks like junk")
    assert sorted(Path(p).parent.name for p in junk.values("filepath")) == ["happy", "sad"]
    assert "quality:grayscale" in dataset.load_saved_view("looks odd").first().tags
    scores = junk.values("quality")
    assert all(min(s.values()) < 0.4 for s in scores)
    # a reviewer who disagrees tags the dark one `keep`: the next export takes it
    dark = junk.match_tags("quality:dark").first()
    dark.tags.append("keep")
    dark.save()
    again = curate_json("export", data=data)
    assert _junk(again) == {"looks like junk: low_information": 1}
    taken = again["exported"] + sum(again["left_out"].values()) - sum(_junk(again).values())
    assert taken == exported["exported"] + sum(exported["left_out"].values()) - 2 + 1  # the kept one
