"""Near-duplicate quality and speed: `curate dedupe`'s grouping vs imagededup's PHash.

Quality: every decodable seed-scrape image plus five transformed copies of it (resize
50%, JPEG quality 40, crop 5% per side, a small text watermark, brightness ±15%). Pairs
of files from the same original are positives, every other pair a negative. happysad is
scored on its groups (every pair inside a group), imagededup on the pairs it reports at
its default threshold (10). Speed: hashing images/s on real files and grouping time on
synthetic hash sets, both tools side by side.

    python bench/dedupe_quality.py [--seed-scrape DIR] [--python-imagededup PATH] [--sizes 10000,30000,100000,1000000]
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageOps
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import machine
from curation.grouping import THRESHOLD, Member, find_groups
from curation.scan import scan_all
from curation.search import near_pairs

RUNNER = Path(__file__).with_name("imagededup_runner.py")


def transforms(img: Image.Image) -> dict[str, Image.Image]:
    rgb = img.convert("RGB")
    w, h = rgb.size
    low = io.BytesIO()
    rgb.save(low, "JPEG", quality=40)
    marked = rgb.copy()
    ImageDraw.Draw(marked).text((w * 0.05, h * 0.85), "(c) stock", fill=(255, 255, 255))
    dx, dy = round(w * 0.05), round(h * 0.05)
    return {
        "resize50": rgb.resize((max(1, w // 2), max(1, h // 2))),
        "jpeg40": Image.open(io.BytesIO(low.getvalue())),
        "crop5": rgb.crop((dx, dy, w - dx, h - dy)),
        "watermark": marked,
        "bright+15": ImageEnhance.Brightness(rgb).enhance(1.15),
        "bright-15": ImageEnhance.Brightness(rgb).enhance(0.85),
    }


def build_set(seed: Path, out: Path) -> dict[str, str]:
    """Write originals and their copies flat into `out`; returns file name → original id."""
    origin: dict[str, str] = {}
    for n, path in enumerate(sorted(p for p in seed.rglob("*") if p.is_file())):
        try:
            with Image.open(path) as img:
                img = ImageOps.exif_transpose(img)
                img.load()
        except Exception:
            continue  # the scrape's junk: not part of the quality set
        if min(img.size) < 32:
            continue
        key = f"o{n:04d}"
        img.convert("RGB").save(out / f"{key}__orig.jpg", quality=95)
        origin[f"{key}__orig.jpg"] = key
        for name, copy in transforms(img).items():
            copy.convert("RGB").save(out / f"{key}__{name}.jpg", quality=90)
            origin[f"{key}__{name}.jpg"] = key
    return origin


def score(pairs: set[tuple[str, str]], origin: dict[str, str]) -> dict[str, float]:
    by_origin: dict[str, int] = {}
    for key in origin.values():
        by_origin[key] = by_origin.get(key, 0) + 1
    positives = sum(k * (k - 1) // 2 for k in by_origin.values())
    tp = sum(1 for a, b in pairs if origin[a] == origin[b])
    precision = tp / len(pairs) if pairs else 0.0
    recall = tp / positives
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "pairs": len(pairs),
        "positives": positives,
    }


def happysad(folder: Path) -> tuple[set[tuple[str, str]], float, float, int]:
    start = time.perf_counter()
    scanned = [r for r in scan_all(folder, sorted(p.name for p in folder.iterdir())) if r.hashes]
    hashed = time.perf_counter()
    members = [
        Member(
            r.path,
            "x",
            r.path,
            r.width or 0,
            r.height or 0,
            r.bytes,
            None,
            (r.hashes["phash_full"], r.hashes["phash_centre"]),
            (r.hashes["dhash_full"],),
        )
        for r in scanned
    ]
    groups = find_groups(members)
    done = time.perf_counter()
    pairs = {tuple(sorted(p)) for g in groups for p in itertools.combinations(g.members, 2)}
    return pairs, hashed - start, done - hashed, len(scanned)


def imagededup(python: str, mode: str, target: Path) -> dict:
    out = subprocess.run([python, str(RUNNER), mode, str(target)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def synthetic(n: int, rng: np.random.Generator) -> np.ndarray:
    """Random 64-bit hashes with 5% planted near copies (up to 8 bits flipped)."""
    h = rng.integers(0, 2**64 - 1, size=n, dtype=np.uint64)
    k = n // 20
    src, dst = rng.integers(0, n, size=k), rng.integers(0, n, size=k)
    flips = rng.integers(0, 64, size=(k, 8)).astype(np.uint64)
    noise = np.bitwise_or.reduce(np.uint64(1) << flips, axis=1) * (rng.random(k) < 0.9)
    h[dst] = h[src] ^ noise.astype(np.uint64)
    return h


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seed-scrape", default=str(Path(__file__).resolve().parents[2] / "shared/datasets/seed-scrape")
    )
    parser.add_argument(
        "--speed-files",
        default=str(Path(__file__).resolve().parents[2] / "shared/datasets/fer2013-happy-sad/train"),
    )
    parser.add_argument("--python-imagededup", default=".venv-bench/bin/python")
    parser.add_argument("--sizes", default="10000,30000,100000,1000000")
    parser.add_argument(
        "--imagededup-max",
        type=int,
        default=30_000,
        help="largest synthetic set given to imagededup (quadratic)",
    )
    args = parser.parse_args()
    idd = args.python_imagededup if Path(args.python_imagededup).exists() else None
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        console.print(_quality_table(Path(tmp), Path(args.seed_scrape), idd))
        speed = _speed_table(Path(tmp), Path(args.speed_files), idd)
        _synthetic_rows(speed, Path(tmp), [int(s) for s in args.sizes.split(",")], idd, args.imagededup_max)
        console.print(speed)


def _quality_table(tmp: Path, seed_scrape: Path, idd: str | None) -> Table:
    """Precision and recall of the pairs each tool reports on planted near copies."""
    folder = tmp / "set"
    folder.mkdir()
    origin = build_set(seed_scrape, folder)
    ours, _, _, _ = happysad(folder)
    quality = Table(
        title=f"near-duplicate quality: {len(origin)} files from {len(set(origin.values()))} seed-scrape images"
    )
    for column in ("tool", "precision", "recall", "F1", "pairs reported"):
        quality.add_column(column)
    rows = {"happysad curate dedupe": score(ours, origin)}
    if idd:
        theirs = imagededup(idd, "files", folder)
        rows["imagededup PHash (threshold 10)"] = score({tuple(p) for p in theirs["pairs"]}, origin)
    for name, s in rows.items():
        quality.add_row(
            name, f"{s['precision']:.3f}", f"{s['recall']:.3f}", f"{s['f1']:.3f}", str(s["pairs"])
        )
    return quality


def _speed_table(tmp: Path, speed_files: Path, idd: str | None) -> Table:
    """Hashing and grouping 10,000 real files, both tools."""
    speed = Table(title="speed (seconds; lower is better)", caption=machine.line())
    for column in ("input", "happysad", "imagededup", "imagededup ÷ happysad"):
        speed.add_column(column)
    files = tmp / "files"
    files.mkdir()
    for i, path in enumerate(sorted(speed_files.rglob("*.jpg"))[:10_000]):
        shutil.copy(path, files / f"{i:05d}.jpg")
    _, h_ours, g_ours, n = happysad(files)
    theirs = imagededup(idd, "files", files) if idd else None
    speed.add_row(
        f"{n} real files: hash",
        f"{h_ours:.2f} ({n / h_ours:.0f} img/s)",
        f"{theirs['seconds_hash']:.2f} ({theirs['hashed'] / theirs['seconds_hash']:.0f} img/s)"
        if theirs
        else "-",
        f"{theirs['seconds_hash'] / h_ours:.1f}" if theirs else "-",
    )
    speed.add_row(
        f"{n} real files: group",
        f"{g_ours:.2f}",
        f"{theirs['seconds_search']:.2f}" if theirs else "-",
        f"{theirs['seconds_search'] / g_ours:.1f}" if theirs else "-",
    )
    return speed


def _synthetic_rows(speed: Table, tmp: Path, sizes: list[int], idd: str | None, idd_max: int) -> None:
    """Grouping synthetic hash sets up to a million; imagededup (quadratic) up to `idd_max`."""
    rng = np.random.default_rng(0)
    for size in sizes:
        hashes = synthetic(size, rng)
        start = time.perf_counter()
        near_pairs(hashes, THRESHOLD)
        ours_s = time.perf_counter() - start
        theirs_s = None
        if idd and size <= idd_max:
            encoded = tmp / f"h{size}.json"
            encoded.write_text(json.dumps({f"{i}": f"{int(v):016x}" for i, v in enumerate(hashes)}))
            theirs_s = imagededup(idd, "hashes", encoded)["seconds_search"]
        speed.add_row(
            f"{size:,} synthetic hashes: group (ours ≤{THRESHOLD} bits, theirs ≤10)",
            f"{ours_s:.2f}",
            f"{theirs_s:.2f}" if theirs_s else "not run (quadratic)",
            f"{theirs_s / ours_s:.1f}" if theirs_s else "-",
        )


if __name__ == "__main__":
    main()
