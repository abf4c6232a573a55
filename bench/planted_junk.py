"""Planted junk: how much of what a reviewer rejects on sight `curate scan` flags, and how many
real photos it flags with it, beside cleanvision (`Imagelab.find_issues`) on the same files.

The seed scrape's pictures (n = 301, its own few banners and logos included, so a share of
them flagged is an upper bound on false alarms) with generated junk mixed in: blank and
solid-colour tiles, text banners, logos, drawn emoji, and photos of the scrape made unusable
(a heavy blur, nearly black, overexposed, cut to a strip of extreme aspect ratio). `scan`
is scored on what keeps a picture out of the export (curation.quality.JUNK, and its flags:
a strip a few pixels high is `small`);
cleanvision on the same issues at its default thresholds, and on all seven.

    python bench/planted_junk.py [--seed-scrape DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import machine
from curation import quality
from curation.catalog import Catalog

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT.parent / "shared" / "datasets" / "seed-scrape"
KINDS = ("tile", "banner", "logo", "emoji", "blurred", "dark", "overexposed", "strip")
PER_KIND = 8


def _tile(rng: random.Random, n: int) -> Image.Image:
    colour = (255, 255, 255) if n == 0 else tuple(rng.randrange(256) for _ in range(3))
    return Image.new("RGB", (rng.randrange(200, 500), rng.randrange(200, 500)), colour)


def _banner(rng: random.Random, n: int) -> Image.Image:
    img = Image.new(
        "RGB", (rng.randrange(500, 900), rng.randrange(150, 260)), tuple(rng.randrange(256) for _ in range(3))
    )
    draw = ImageDraw.Draw(img)
    for row, word in enumerate(("HAPPY PEOPLE", "SAD PEOPLE", "QUOTES")[: 1 + n % 3]):
        draw.text((20, 20 + 40 * row), word, fill=(255, 255, 255), font_size=28)
    return img


def _logo(rng: random.Random, n: int) -> Image.Image:
    img = Image.new("RGB", (400, 400), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    colour = tuple(rng.randrange(200) for _ in range(3))
    if n % 3 == 2:
        draw.regular_polygon((200, 160, 100), 3 + n % 4, fill=colour)
    else:
        (draw.ellipse, draw.rectangle)[n % 3]((100, 60, 300, 260), fill=colour)
    draw.text((110, 300), "SMILE CLUB", fill=colour, font_size=30)
    return img


def _emoji(rng: random.Random, n: int) -> Image.Image:
    img = Image.new("RGB", (300, 300), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    fill = (255, 204, 0) if n % 2 else None  # a flat yellow one, or a line drawing
    draw.ellipse((30, 30, 270, 270), fill=fill, outline=(0, 0, 0), width=6)
    for x in (110, 190):
        draw.ellipse((x - 12, 100, x + 12, 130), fill=(0, 0, 0))
    box = (90, 150, 210, 230) if n % 4 < 2 else (90, 190, 210, 270)
    draw.arc(box, *((20, 160) if n % 4 < 2 else (200, 340)), fill=(0, 0, 0), width=6)
    side = rng.randrange(160, 480)  # each its own size: byte-identical copies are dedupe's, and
    return img.resize((side, side))  # the workspace keeps one of them (one verdict for two files)


def _spoilt(kind: str, photo: Image.Image) -> Image.Image:
    rgb = photo.convert("RGB")
    if kind == "blurred":
        return rgb.filter(ImageFilter.GaussianBlur(max(rgb.size) / 40))
    if kind == "dark":
        return ImageEnhance.Brightness(rgb).enhance(0.06)
    if kind == "overexposed":
        return ImageEnhance.Brightness(rgb).enhance(4.0)
    w, h = rgb.size  # a strip: a thumbnail row cut from the photo
    return (
        rgb.crop((0, h // 2 - h // 16, w, h // 2 + h // 16))
        if w >= h
        else rgb.crop((w // 2 - w // 16, 0, w // 2 + w // 16, h))
    )


def plant(seed: Path, out: Path) -> dict[str, str]:
    """The seed scrape copied into out/<label>/, junk added to both labels; file → kind ("" real)."""
    rng = random.Random(0)
    photos = sorted(p for p in seed.rglob("*") if p.is_file())
    kinds: dict[str, str] = {}
    for p in photos:
        target = out / p.parent.name / p.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, target)
        kinds[str(target.relative_to(out))] = ""
    makers = {"tile": _tile, "banner": _banner, "logo": _logo, "emoji": _emoji}
    for kind in KINDS:
        for n in range(PER_KIND):
            if kind in makers:
                img = makers[kind](rng, n)
            else:
                with Image.open(rng.choice(photos)) as source:
                    img = _spoilt(kind, source)
            name = f"{('happy', 'sad')[n % 2]}/planted-{kind}-{n}.jpg"
            img.convert("RGB").save(out / name, quality=90)
            kinds[name] = kind
    return kinds


def run_scan(tree: Path, work: Path) -> tuple[dict[str, set[str]], float]:
    """`curate import` and `curate scan`, the commands a user runs; file → flagged junk issues."""
    data = work / "ws"
    curate = [sys.executable, "-c", "import curation.cli as m; m.main()"]
    subprocess.run(
        [*curate, "import", str(tree), "--data", str(data), "--json"], check=True, capture_output=True
    )
    start = time.perf_counter()
    subprocess.run([*curate, "scan", "--data", str(data), "--json"], check=True, capture_output=True)
    seconds = time.perf_counter() - start
    with Catalog(data) as catalog:
        origin = {r["path"]: r["source"] for r in catalog.rows()}
        found = {origin[path]: set(quality.junk_of(v)) for path, v in catalog.verdicts().items()}
        # a scan flag (small, corrupt, ...) keeps a picture out of the export as junk does
        flagged = {origin[r["path"]]: {f"flagged {r['flag']}"} for r in catalog.rows() if r["flag"]}
    by_name = {
        str(Path(k).relative_to(tree)) if k and Path(k).is_absolute() else k: v
        for k, v in {**found, **flagged}.items()
    }
    return by_name, seconds


def run_cleanvision(tree: Path, issues: list[str]) -> tuple[dict[str, set[str]], float]:
    from cleanvision import Imagelab

    files = sorted(str(p) for p in tree.rglob("*") if p.is_file())
    start = time.perf_counter()
    lab = Imagelab(filepaths=files)
    lab.find_issues(issue_types={k: {} for k in issues}, n_jobs=2, verbose=False)
    seconds = time.perf_counter() - start
    table = lab.issues
    found = {
        str(Path(path).relative_to(tree)): {k for k in issues if bool(table.loc[path, f"is_{k}_issue"])}
        for path in table.index
    }
    return found, seconds


def score(kinds: dict[str, str], found: dict[str, set[str]]) -> dict[str, object]:
    planted = [f for f, k in kinds.items() if k]
    real = [f for f, k in kinds.items() if not k]
    caught = Counter(kinds[f] for f in planted if found.get(f))
    return {
        "recall": sum(caught.values()) / len(planted),
        "planted": len(planted),
        "real_flagged": sum(1 for f in real if found.get(f)),
        "real": len(real),
        "per_kind": {k: caught[k] for k in KINDS},
        "real_flagged_files": sorted(f for f in real if found.get(f)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed-scrape", type=Path, default=SEED)
    parser.add_argument("--out", type=Path, default=None, help="Write the figures as JSON here too.")
    args = parser.parse_args()
    console = Console(width=150)  # the table's 12 columns, also when piped
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        kinds = plant(args.seed_scrape, tree)
        ours, ours_s = run_scan(tree, Path(tmp))
        theirs, theirs_s = run_cleanvision(tree, sorted(quality.JUNK))
        every, _ = run_cleanvision(tree, list(quality.ISSUES))
    rows = {
        "curate scan (junk issues and flags)": (score(kinds, ours), ours_s),
        "cleanvision, same issues": (score(kinds, theirs), theirs_s),
        "cleanvision, all seven": (score(kinds, every), None),
    }
    table = Table(title="planted junk: caught, and real photos flagged", caption=machine.line())
    for column in ("tool", "planted junk caught", "real flagged [n]", *KINDS, "seconds"):
        table.add_column(column)
    for name, (s, seconds) in rows.items():
        table.add_row(
            name,
            f"{s['recall']:.2f} ({sum(s['per_kind'].values())}/{s['planted']})",
            f"{s['real_flagged'] / s['real']:.1%} ({s['real_flagged']}/{s['real']})",
            *(str(s["per_kind"][k]) + f"/{PER_KIND}" for k in KINDS),
            f"{seconds:.1f}" if seconds else "-",
        )
    console.print(table)
    for name, (s, _) in rows.items():
        console.print(f"{name}: real pictures flagged: {', '.join(s['real_flagged_files']) or 'none'}")
    if args.out:
        args.out.write_text(json.dumps({k: v[0] for k, v in rows.items()}, indent=2))


if __name__ == "__main__":
    main()
