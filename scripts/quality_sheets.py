"""Contact sheets for choosing the quality thresholds by eye (curation.quality.THRESHOLDS).

For each issue, the pictures of a folder tree with the lowest scores, worst first, each with
its score; a red frame marks the ones flagged at the current threshold. Look along a sheet
for where junk stops and photos of people start: that is where the threshold belongs.
The sheets are written, not committed (they show other people's photos).

    python scripts/quality_sheets.py ../shared/datasets/seed-scrape --out sheets/seed [--count 40]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curation import quality
from happysad.common.images import decode_image, read_image_file, upright

TILE = 160


def measure_tree(root: Path) -> dict[str, dict[str, float | str]]:
    """Every decodable picture's quality properties, by path relative to `root`."""
    measured = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        try:
            _, img = decode_image(read_image_file(path))
            measured[str(path.relative_to(root))] = quality.measure(upright(img))
        except Exception as exc:  # a file that does not decode has no place on a sheet
            print(f"skipped {path}: {exc}", file=sys.stderr)
    return measured


def sheet(root: Path, ranked: list[tuple[str, quality.Verdict]], columns: int = 8) -> Image.Image:
    rows = (len(ranked) + columns - 1) // columns
    canvas = Image.new("RGB", (columns * TILE, rows * (TILE + 18)), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for n, (path, verdict) in enumerate(ranked):
        x, y = (n % columns) * TILE, (n // columns) * (TILE + 18)
        with Image.open(root / path) as img:
            thumb = ImageOps.contain(upright(img).convert("RGB"), (TILE - 8, TILE - 8))
        canvas.paste(thumb, (x + 4, y + 4))
        if verdict.flagged:
            draw.rectangle((x + 1, y + 1, x + TILE - 2, y + TILE - 2), outline=(220, 0, 0), width=3)
        draw.text((x + 4, y + TILE), f"{verdict.score:.3f} {Path(path).name[:16]}", fill=(0, 0, 0))
    return canvas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="A folder tree of pictures (a scrape: <label>/<images>).")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--count", type=int, default=40, help="Pictures per sheet, lowest scores first.")
    args = parser.parse_args()
    verdicts = quality.judge(measure_tree(args.root))
    args.out.mkdir(parents=True, exist_ok=True)
    for issue in quality.ISSUES:
        scored = [(path, v) for path, found in verdicts.items() for v in found if v.issue == issue]
        ranked = sorted(scored, key=lambda pv: pv[1].score)[: args.count]
        flagged = sum(1 for _, v in scored if v.flagged)
        target = args.out / f"{issue}.png"
        sheet(args.root, ranked).save(target)
        print(f"{issue}: {flagged} of {len(scored)} flagged at {quality.THRESHOLDS[issue]} → {target}")


if __name__ == "__main__":
    main()
