"""Downloader throughput: happysad's collector vs img2dataset vs a plain sequential loop.

One loopback image host with added latency per request serves N distinct JPEGs; each
contender downloads the same URL list into its own folder, timed wall-clock from start
to finish (process start-up included for img2dataset, as a user would see it). The
sequential loop runs on a sample of the list (it would take minutes otherwise); all
figures are images per second, so they compare directly.

`collect --engine page` is also timed end to end: the real command in a subprocess, from
start-up to the last file stored, with the per-host caps lifted as img2dataset has none, on
two gallery pages of the same N images: one whose HTML names them (read without a browser)
and one whose script builds them (read in Chromium, which loads none of them).

    python bench/collect_throughput.py [--urls 1000] [--latency 0.05] [--img2dataset PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import machine
from collector.demo import pictures
from collector.demo.server import Response, Site, serve
from collector.downloader import DownloadSettings
from collector.engines import Candidate
from collector.job import download
from collector.pipeline import Job

PAGE = "collect --engine page, whole command (gallery in the HTML)"
SCRIPTED = "collect --engine page, whole command (gallery built by a script: Chromium)"


def _host_process(count: int, latency: float, ready: mp.Queue) -> None:
    with serve(image_host(count, latency)) as base:
        ready.put(base)
        time.sleep(3600)


@contextmanager
def image_host_process(count: int, latency: float) -> Iterator[str]:
    """The host runs in its own process, so no contender shares a GIL with it."""
    ready: mp.Queue = mp.Queue()
    process = mp.Process(target=_host_process, args=(count, latency, ready), daemon=True)
    process.start()
    try:
        yield ready.get(timeout=120)
    finally:
        process.terminate()
        process.join()


def image_host(count: int, latency: float) -> Site:
    images = [pictures.jpeg(pictures.face(i, "happy", (256, 192))) for i in range(count)]
    site = Site(latency=latency)
    site.route("/robots.txt", lambda r: Response(b"User-agent: *\nAllow: /\n", 200, "text/plain"))
    gallery = "".join(f'<img src="/img/{i}.jpg" alt="picture {i}">' for i in range(count))
    page = f"<!DOCTYPE html><html><body>{gallery}</body></html>".encode()
    site.route("/gallery.html", lambda r: Response(page, 200, "text/html"))
    script = (
        f"<!DOCTYPE html><html><body><script>for (let i = 0; i < {count}; i++) {{"
        "const img = document.createElement('img'); img.src = `/img/${i}.jpg`; img.alt = `picture ${i}`;"
        "document.body.appendChild(img); }</script></body></html>"
    ).encode()
    site.route("/gallery-script.html", lambda r: Response(script, 200, "text/html"))
    site.route(
        "/img/*",
        lambda r: Response(images[int(r.path.rsplit("/", 1)[1].split(".")[0])], content_type="image/jpeg"),
    )
    return site


def run_happysad(out: Path, urls: list[str], concurrency: int) -> int:
    async def reader():
        for url in urls:
            yield Candidate(url)

    settings = DownloadSettings(
        concurrency=concurrency, per_host=concurrency, host_rate=0, allow_private=True
    )
    job = Job("bench", "bench", "list", limit=len(urls), min_width=1, min_height=1)
    return asyncio.run(download(job, out, settings, lambda fetch: reader())).ok


def run_page_command(out: Path, page: str, count: int, concurrency: int) -> int:
    """The whole `collect --engine page` command, as a user runs it (caps lifted)."""
    _started(out).parent.mkdir(parents=True, exist_ok=True)
    _started(out).write_text(datetime.now(timezone.utc).isoformat())
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "collector.cli",
            "bench",
            "--engine",
            "page",
            "--endpoint",
            page,
            "--limit",
            str(count),
            "--concurrency",
            str(concurrency),
            "--per-host",
            str(concurrency),
            "--host-rate",
            "0",
            "--allow-private",
            "--data",
            str(out),
            "--json",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    return json.loads(result.stdout)["ok"]


def _started(out: Path) -> Path:
    return out.parent / f"{out.name}.started"


def first_file_seconds(out: Path) -> float:
    """From the command's start to the first image stored (the manifest's time of its row)."""
    with sqlite3.connect(out / "collection.sqlite") as db:
        first = db.execute("SELECT MIN(updated_at) FROM candidates WHERE status = 'ok'").fetchone()[0]
    started = datetime.fromisoformat(_started(out).read_text())
    return round((datetime.fromisoformat(first) - started).total_seconds(), 2)


def run_img2dataset(out: Path, binary: str, urls: list[str], threads: int) -> int:
    out.mkdir(parents=True)
    listing = out / "urls.txt"
    listing.write_text("\n".join(urls) + "\n")
    subprocess.run(
        [
            binary,
            "--url_list",
            str(listing),
            "--input_format",
            "txt",
            "--output_folder",
            str(out / "shards"),
            "--output_format",
            "files",
            "--processes_count",
            "1",
            "--thread_count",
            str(threads),
            "--resize_mode",
            "no",
            "--retries",
            "0",
            "--timeout",
            "10",
            "--enable_wandb",
            "False",
        ],
        check=True,
        capture_output=True,
    )
    return len(list(out.rglob("*.jpg")))


def img2dataset_own_seconds(out: Path) -> float:
    """img2dataset's own timer: shard download time, without its process start-up."""
    return sum(json.loads(p.read_text())["duration"] for p in out.rglob("*_stats.json"))


def run_sequential(out: Path, urls: list[str]) -> int:
    """What a notebook does: fetch one URL after another."""
    out.mkdir(parents=True)
    for i, url in enumerate(urls):
        with urllib.request.urlopen(url, timeout=10) as response:
            (out / f"{i}.jpg").write_bytes(response.read())
    return len(urls)


def median_run(run: Callable[[Path], int], root: Path, repeat: int) -> tuple[int, float, Path]:
    """Run `repeat` times into fresh folders; the median time, its count and its folder."""
    runs = []
    for i in range(repeat):
        folder = root / str(i)
        start = time.perf_counter()
        done = run(folder)
        runs.append((time.perf_counter() - start, done, folder))
    seconds, done, folder = sorted(runs)[len(runs) // 2]
    return done, seconds, folder


def figures(done: int, seconds: float) -> dict[str, float]:
    return {"images": done, "seconds": round(seconds, 2), "images_per_s": round(done / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--urls", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every response")
    parser.add_argument("--concurrency", type=int, default=64, help="happysad downloads, img2dataset threads")
    parser.add_argument("--sequential-sample", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender; the median is reported")
    parser.add_argument("--img2dataset", default=shutil.which("img2dataset") or ".venv-bench/bin/img2dataset")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    results: dict[str, dict[str, float]] = {}
    with image_host_process(args.urls, args.latency) as base, tempfile.TemporaryDirectory() as tmp:
        urls = [f"{base}/img/{i}.jpg" for i in range(args.urls)]
        root = Path(tmp)
        done, seconds, _ = median_run(
            partial(run_happysad, urls=urls, concurrency=args.concurrency), root / "hs", args.repeat
        )
        results["happysad collect"] = figures(done, seconds)
        for name, page in ((PAGE, "gallery.html"), (SCRIPTED, "gallery-script.html")):
            run_page = partial(
                run_page_command, page=f"{base}/{page}", count=args.urls, concurrency=args.concurrency
            )
            done, seconds, folder = median_run(run_page, root / page, args.repeat)
            results[name] = figures(done, seconds) | {"first_file_s": first_file_seconds(folder)}
        if Path(args.img2dataset).exists() or shutil.which(args.img2dataset):
            run = partial(run_img2dataset, binary=args.img2dataset, urls=urls, threads=args.concurrency)
            done, seconds, folder = median_run(run, root / "i2d", args.repeat)
            results["img2dataset"] = figures(done, seconds)
            results["img2dataset, own timer"] = figures(done, img2dataset_own_seconds(folder))
        else:
            print(f"img2dataset not found at {args.img2dataset}; `make bench` installs it", file=sys.stderr)
        sample = urls[: args.sequential_sample]
        done, seconds, _ = median_run(partial(run_sequential, urls=sample), root / "seq", 1)
        results["sequential loop"] = figures(done, seconds)

    ours = results["happysad collect"]["images_per_s"]
    for row in results.values():
        row["happysad_ratio"] = round(ours / row["images_per_s"], 2)
    if "img2dataset" in results:  # the issue's target: the whole page command ≥ 3× img2dataset's
        for name in (PAGE, SCRIPTED):
            results[name]["vs_img2dataset"] = round(
                results[name]["images_per_s"] / results["img2dataset"]["images_per_s"], 2
            )
    if args.json:
        print(json.dumps({"urls": args.urls, "latency": args.latency, "results": results}))
        return
    table = Table(
        caption=machine.line(),
        title=f"{args.urls} URLs, {args.latency * 1000:.0f} ms latency, loopback, median of {args.repeat}",
    )
    for column in ("contender", "images", "seconds", "images/s", "happysad ×"):
        table.add_column(column, justify="left" if column == "contender" else "right")
    for name, f in results.items():
        table.add_row(
            name,
            str(f["images"]),
            f"{f['seconds']:.2f}",
            f"{f['images_per_s']:.1f}",
            f"{f['happysad_ratio']:.2f}",
        )
    Console().print(table)
    for name in (PAGE, SCRIPTED):
        row = results[name]
        ratio = f"{row['vs_img2dataset']:.2f}x img2dataset end to end; " if "vs_img2dataset" in row else ""
        print(f"{name}: {ratio}first image stored after {row['first_file_s']:.2f} s")


if __name__ == "__main__":
    main()
