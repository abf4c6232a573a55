"""Decode every image fully, in parallel, and say what is wrong with it, if anything.

Flags (never deletions): not_image (HTML, SVG, unknown bytes), corrupt, bomb, small,
animated, and undecodable: what Pillow reads and the trainer's decoder cannot (a JPEG cut
before its end marker), found by that decoder (happysad.common.decoder.verdict), so export
leaves it out. The pictures that decode are measured for quality issues in the same pass
(curation.quality: low information, dark, light, blurry, odd aspect ratio or size, grayscale).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from curation import hashing, quality
from curation.catalog import Catalog, ScanResult
from happysad.common.images import (
    NOT_IMAGE,
    ImageRejected,
    decode_image,
    orientation,
    read_image_file,
    upright,
)

# "small" is relative to the workspace: under half its median short side, and never above
# MIN_SIZE. In a web scrape (seed scrape: median short side 400 px) that is 64 px, where
# icons and thumbnails live; in a tree of face crops (FER2013: every image 48 px) it is 24 px,
# so a data set made of small images is not flagged whole.
MIN_SIZE = 64


def _flag_for(reason: str) -> str:
    if reason in NOT_IMAGE:
        return "not_image"
    return {"decompression bomb": "bomb", "too small": "small"}.get(reason, "corrupt")


def data_min_size(short_sides: list[int]) -> int:
    """The `small` threshold for a workspace whose images have these short sides."""
    if not short_sides:
        return MIN_SIZE
    return max(1, min(MIN_SIZE, sorted(short_sides)[len(short_sides) // 2] // 2))


def flag_small(results: list[ScanResult], min_size: int) -> None:
    """Flag decoded, unflagged images whose short side is under min_size."""
    for r in results:
        if (
            r.flag is None
            and r.width is not None
            and r.height is not None
            and min(r.width, r.height) < min_size
        ):
            r.flag, r.reason = "small", f"{r.width}x{r.height} < {min_size}"


def scan_file(root: Path, relative: str) -> ScanResult:
    """Check one file; hashes are taken on the upright (EXIF-rotated) picture."""
    result = ScanResult(relative)
    try:
        data = read_image_file(root / relative)
    except ImageRejected as exc:
        result.flag, result.reason = "corrupt", str(exc)
        return result
    except OSError as exc:
        result.flag, result.reason = "missing", exc.strerror or str(exc)
        return result
    result.bytes = len(data)
    try:
        info, img = decode_image(data)
        result.format, result.width, result.height = info.format, info.width, info.height
        result.mode, result.frames = info.mode, info.frames
        result.orientation = orientation(img)
        turned = upright(img)
        result.hashes = hashing.compute(turned)
        result.width, result.height = turned.size
        result.quality = _measured(turned)
    except ImageRejected as exc:
        result.flag, result.reason = _flag_for(exc.reason), str(exc)
        return result
    except Exception as exc:  # one odd file is flagged, never the end of the scan
        result.flag, result.reason, result.hashes = "corrupt", f"undecodable: {type(exc).__name__}: {exc}", {}
        return result
    if info.frames > 1:
        result.flag, result.reason = "animated", f"{info.frames} frames"
    return result


def _measured(picture) -> dict[str, float | str] | None:
    """Its quality properties; a picture they cannot be taken on is left unmeasured, not flagged."""
    try:
        return quality.measure(picture)
    except Exception:  # an exotic mode the measures do not take: the scan goes on
        return None


def measure_file(root: Path, relative: str) -> ScanResult:
    """The quality properties of a file scanned before they were taken (an older workspace)."""
    result = ScanResult(relative)
    try:
        _, img = decode_image(read_image_file(root / relative))
        result.quality = _measured(upright(img))
    except (ImageRejected, OSError):
        pass  # changed since its scan: the next full scan of it says so
    return result


def _scan_batch(args: tuple[str, list[str], bool]) -> list[ScanResult]:
    root, paths, measure_only = args
    check = measure_file if measure_only else scan_file
    return [check(Path(root), p) for p in paths]


def scan_all(
    root: Path,
    paths: Iterable[str],
    workers: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    measure_only: bool = False,
) -> list[ScanResult]:
    """Scan files (relative to `root`) across processes; `on_progress(n)` after each batch.
    Sizes are recorded, not judged: `flag_small` does that once the workspace's sizes are known.
    `measure_only`: take only the quality properties (`measure_file`)."""
    todo = list(paths)
    workers = workers or os.cpu_count() or 1
    batches = [(str(root), todo[i : i + 32], measure_only) for i in range(0, len(todo), 32)]
    results: list[ScanResult] = []
    if workers == 1 or len(batches) <= 1:
        mapped: Iterable[list[ScanResult]] = map(_scan_batch, batches)
        for batch in mapped:
            results += batch
            if on_progress:
                on_progress(len(batch))
        return results
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for batch in pool.map(_scan_batch, batches):
            results += batch
            if on_progress:
                on_progress(len(batch))
    return results


def flag_undecodable(root: Path, results: list[ScanResult]) -> None:
    """Flag decoded images the trainer's decoder refuses. In this process, after the Pillow
    pass: TensorFlow is started once here, never in forked workers (it does not survive fork)."""
    from happysad.common.decoder import TF_FORMATS, verdict
    from happysad.common.tf_runtime import quiet_tensorflow

    todo = [r for r in results if r.flag is None and r.format in TF_FORMATS]
    if not todo:
        return
    quiet_tensorflow()

    def judge(result: ScanResult) -> None:
        try:
            verdict(read_image_file(root / result.path))
        except ImageRejected as exc:
            result.flag, result.reason, result.hashes = "undecodable", str(exc), {}
        except OSError as exc:  # gone since the first pass
            result.flag, result.reason, result.hashes = "missing", exc.strerror or str(exc), {}

    with ThreadPoolExecutor() as pool:
        list(pool.map(judge, todo))


@dataclass
class ScanReport:
    new_from_collect: int
    scanned: int
    flags: Counter[str] = field(default_factory=Counter)
    min_size: int = MIN_SIZE  # what counted as small
    min_size_from: str = "option"  # "option" (--min-size) or "data" (data_min_size)
    quality: Counter[str] = field(default_factory=Counter)  # issue → pictures flagged, whole workspace
    junk: int = 0  # pictures a junk issue keeps out of the export (curation.quality.JUNK)


def scan_workspace(
    catalog: Catalog,
    min_size: int | None = None,
    workers: int | None = None,
    on_start: Callable[[int], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ScanReport:
    """Scan every file not scanned yet (new collect output is picked up first). `small` is
    below `min_size`, or when None below the workspace's own threshold (scan.data_min_size)."""
    added = catalog.sync_collection()
    todo, unmeasured = catalog.unscanned(), catalog.unmeasured()
    if on_start:
        on_start(len(todo) + len(unmeasured))
    quality.preload()  # once, before the workers fork
    catalog.save_measured(
        {
            r.path: r.quality
            for r in scan_all(catalog.data_dir, unmeasured, workers, on_progress, measure_only=True)
            if r.quality is not None
        }
    )
    results = scan_all(catalog.data_dir, todo, workers, on_progress)
    flag_undecodable(catalog.data_dir, results)
    if min_size is None:
        sides = [min(r["width"], r["height"]) for r in catalog.rows() if r["width"] and r["height"]]
        sides += [min(r.width, r.height) for r in results if r.width and r.height]
        chosen, source = data_min_size(sides), "data"
    else:
        chosen, source = min_size, "option"
    flag_small(results, chosen)
    catalog.save_scan(results)
    verdicts = quality.judge(catalog.measured())
    catalog.save_verdicts(verdicts)
    flagged = Counter(v.issue for found in verdicts.values() for v in found if v.flagged)
    junk = sum(1 for found in verdicts.values() if quality.junk_of(found))
    flags = Counter(r.flag for r in results if r.flag)
    return ScanReport(added, len(results), flags, chosen, source, flagged, junk)
