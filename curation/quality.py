"""Image-quality issues, the kind a reviewer of "happy people" rejects on sight: a blank tile,
a text banner, a logo, drawn emoji, a nearly black or washed-out frame, a heavy blur, a strip
of a thumbnail. The properties and their scores are cleanvision's (`Imagelab.find_issues`),
taken from its property classes so the picture `scan` has already decoded is measured once,
in the same worker, instead of read again; all but blur, whose measure here caught the heavily
blurred photos cleanvision's misses (bench/planted_junk.py: `sharpness`).

A score runs from 0 (the issue at its worst) to 1; an issue is flagged below its threshold.
JUNK issues keep a picture out of the export (a reviewer's `keep` tag lets it back in); the
LOOK issues are only for looking at (a grayscale photo and an unusually sized one are photos).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageFilter

# What each issue is called (a tag in the App, a key in --json), and its threshold. Measured by
# bench/planted_junk.py on the seed scrape's 301 pictures with 60 generated junk pictures
# mixed in, and by eye on contact sheets of both scrapes (scripts/quality_sheets.py):
# cleanvision's own defaults, except where the measurement chose otherwise (see each line).
THRESHOLDS: dict[str, float] = {
    "low_information": 0.4,  # entropy / 10: tiles, banners, logos, emoji, clip art (0.3: cleanvision)
    "dark": 0.32,  # the 99th percentile of brightness: a frame with nothing lit
    "light": 0.05,  # 1 - the 5th percentile: a frame with nothing dark
    "blurry": 0.3,  # sharpness × 10; real photos ≥ 0.49 (725 of both scrapes), blurred ones ≤ 0.11
    "odd_aspect_ratio": 0.35,  # the short side over the long one: strips and banners
    "odd_size": 0.5,  # sqrt(area) against the workspace's own quartiles (relative)
    "grayscale": 1.0,  # a one-channel picture (mode L)
}
ISSUES = tuple(THRESHOLDS)
JUNK = frozenset({"low_information", "dark", "light", "blurry", "odd_aspect_ratio"})
LOOK = frozenset(ISSUES) - JUNK


def tag(issue: str) -> str:
    """The App's tag for an issue: `quality:` keeps it apart from a reviewer's own words (a
    reviewer's `blurry` tag stays theirs; the machine's is `quality:blurry`)."""
    return f"quality:{issue}"


TAGS = frozenset(tag(issue) for issue in ISSUES)
# cleanvision's parameters for the scores (its defaults): how raw values are scaled to 0..1
SCALING: dict[str, dict[str, float]] = {
    "low_information": {"normalizing_factor": 0.1},
    "odd_size": {"iqr_factor": 3.0},
}
SIDE = 512  # pictures are measured on a copy at most this many pixels a side (see measure)
SHARP_SIDE = 256  # sharpness is taken at this size, up or down, so a photo's size does not move it


def preload() -> None:
    """Import cleanvision now (a process about to fork its workers gives it to them)."""
    _properties()


def _properties() -> dict[str, Any]:
    """cleanvision's property per issue (imported here: 1.5 s of start-up only scan needs)."""
    from cleanvision.issue_managers.image_property import (
        AspectRatioProperty,
        BrightnessProperty,
        ColorSpaceProperty,
        EntropyProperty,
        SizeProperty,
    )

    return {
        "low_information": EntropyProperty(),
        "dark": BrightnessProperty("dark"),
        "light": BrightnessProperty("light"),
        "odd_aspect_ratio": AspectRatioProperty(),
        "odd_size": SizeProperty(),
        "grayscale": ColorSpaceProperty(),
    }


def measure(picture: Image.Image) -> dict[str, float | str]:
    """The raw properties of one decoded, upright picture.

    Brightness and entropy are taken on a copy at most SIDE px a side (a 12-megapixel photo's
    brightness percentiles took a second), blur at SHARP_SIDE px (see sharpness); size and
    aspect ratio on the picture itself; the colour space is the file's own mode.
    """
    properties = _properties()
    small = picture.copy()
    small.thumbnail((SIDE, SIDE))
    colour = small if small.mode in ("RGB", "L") else small.convert("RGB")
    raw: dict[str, float | str] = {}
    for issue in ("low_information", "dark"):  # dark's measure is light's too
        raw.update(properties[issue].calculate(colour))
    raw["sharpness"] = sharpness(picture)
    for issue in ("odd_aspect_ratio", "odd_size", "grayscale"):
        raw.update(properties[issue].calculate(picture))
    return {k: v if isinstance(v, str) else float(v) for k, v in raw.items()}


def sharpness(picture: Image.Image) -> float:
    """What detail is left at fine scale, for its contrast: the grey picture brought to
    SHARP_SIDE px on its long side (a thumbnail enlarged, as the App shows it), less a 1.5 px
    blur of itself, its spread over the picture's. A heavy blur leaves ≤ 0.011, a foggy, dim
    photo keeps its edges (≥ 0.049 on both scrapes); cleanvision's measure (edges at 64 px)
    flagged three foggy photos and none of the blurred ones. Measured at its own size, a
    blurred 100 px thumbnail kept 0.058 (JPEG's blocks read as detail) and passed.

    >>> photo = Image.effect_noise((300, 300), 60)
    >>> sharpness(photo) > 0.3 > sharpness(photo.filter(ImageFilter.GaussianBlur(8)))
    True
    """
    import numpy as np

    grey = picture.convert("L")
    scale = SHARP_SIDE / max(grey.size)
    if scale < 1:
        grey.thumbnail((SHARP_SIDE, SHARP_SIDE))  # faster than resize on a large photo
    else:
        grey = grey.resize((round(grey.width * scale) or 1, round(grey.height * scale) or 1), Image.BICUBIC)
    plain = np.asarray(grey, dtype=np.float32)
    detail = plain - np.asarray(grey.filter(ImageFilter.GaussianBlur(1.5)), dtype=np.float32)
    return float(detail.std() / max(float(plain.std()), 1.0))


def _blurry(raw) -> tuple[list[float], list[bool]]:
    scores = [min(1.0, 10 * float(v)) for v in raw["sharpness"]]
    return scores, [score < THRESHOLDS["blurry"] for score in scores]


@dataclass(frozen=True)
class Verdict:
    """One issue of one picture: its score (0 worst .. 1) and whether it is flagged."""

    issue: str
    score: float
    flagged: bool


def judge(measured: Mapping[str, Mapping[str, float | str]]) -> dict[str, list[Verdict]]:
    """path → its verdicts, scored together: odd_size is relative to the whole workspace.

    >>> tile = measure(Image.new("RGB", (300, 300), (200, 30, 30)))
    >>> photo = measure(Image.effect_noise((300, 300), 60).convert("RGB"))
    >>> verdicts = judge({"tile.png": tile, "photo.jpg": photo})
    >>> sorted(v.issue for v in verdicts["tile.png"] if v.flagged)
    ['blurry', 'low_information']
    >>> [v.issue for v in verdicts["photo.jpg"] if v.flagged]
    []
    """
    import pandas as pd

    if not measured:
        return {}
    raw = pd.DataFrame.from_dict({path: dict(values) for path, values in measured.items()}, orient="index")
    verdicts: dict[str, list[Verdict]] = {path: [] for path in raw.index}
    properties = _properties()
    for issue in ISSUES:
        if issue == "blurry":
            scores, flagged = _blurry(raw)
        else:
            prop = properties[issue]
            scored = prop.get_scores(raw[prop.score_columns], issue, **SCALING.get(issue, {}))
            scores, flagged = (
                list(scored.iloc[:, 0]),
                list(prop.mark_issue(scored, issue, THRESHOLDS[issue]).iloc[:, 0]),
            )
        for path, score, is_issue in zip(raw.index, scores, flagged, strict=True):
            verdicts[path].append(Verdict(issue, round(float(score), 4), bool(is_issue)))
    return verdicts


def junk_of(verdicts: Iterable[Verdict]) -> list[str]:
    """The flagged issues that keep a picture out of the export, in ISSUES order."""
    flagged = {v.issue for v in verdicts if v.flagged}
    return [issue for issue in ISSUES if issue in flagged and issue in JUNK]
