"""`serve` against the server the tutorials ship, side by side on loopback, same photos.

The baseline is what happy-vs-sad tutorials end with: a threaded HTTP server whose handler
decodes the upload and calls `model.predict` on it alone (for a face run: finds its faces with
one MTCNN its threads share, then one `model.predict` on their crops), here with happysad's
own preprocessing so both answer the same. `serve` decodes in threads and scores concurrent
requests together.

Photos: pictures of both scrapes, resized to 640 px on the long side (the scrapes' typical
web size), cycled. For each run (a whole-frame run: the default architecture at 128 px RGB,
trained for one epoch, since speed does not depend on accuracy; a face run: the shipped
prior) and each concurrency (1, 8, 16, 32): requests per second, p50 and p95 latency, and the
share of requests turned away (503).

    python bench/serve_throughput.py [--requests 96] [--face-requests 48] [--concurrency 1,8,16,32]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import aiohttp
from PIL import Image
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import machine
from bench.train_benchmark import SHARED

console = Console(stderr=True)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def photos(n: int) -> list[bytes]:
    found = sorted((SHARED / "other-scrape").rglob("*.jpg")) + sorted((SHARED / "seed-scrape").rglob("*.jpg"))
    out = []
    for path in found[:: max(1, len(found) // n)][:n]:
        img = Image.open(path).convert("RGB")
        img.thumbnail((640, 640))
        buffer = io.BytesIO()
        img.save(buffer, "JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


def whole_frame_run(tmp: Path) -> Path:
    from tests.trainer_data import make_tree
    from trainer.config import TrainConfig
    from trainer.train import train

    data = make_tree(tmp / "faces", per_label=40)
    train(TrainConfig(data, out=tmp / "whole", epochs=1, image_size=128, color_mode="rgb", init=Path("none")))
    return tmp / "whole"


def baseline(run_dir: str, port: int) -> ThreadingHTTPServer:
    """The tutorials' server: a thread per request, one model.predict per upload."""
    import numpy as np
    import tensorflow as tf

    from happysad.common.images import decode_image, upright
    from happysad.faces import crops
    from happysad.faces.detectors import MTCNNDetector
    from happysad.faces.images import for_detection
    from trainer import data
    from trainer.face_scoring import crop_tensor, reads_faces, settings
    from trainer.predict import decide
    from trainer.run import open_run

    run = open_run(Path(run_dir))
    model = run.load_model()
    on_faces = reads_faces(run, None, [])
    how = settings(run) if on_faces else None
    lock = threading.Lock()  # tutorials share one model; Keras' predict is not re-entrant

    class SharedMTCNN(MTCNNDetector):
        """One MTCNN for every request's thread, called as the package calls it (eagerly):
        happysad's detector builds and traces one a thread, a cost a thread per request would
        pay on every request."""

        def __init__(self, min_face: int) -> None:
            from mtcnn import MTCNN

            super().__init__(min_face)
            self._shared = MTCNN(device="CPU:0")

        def _model(self):
            return self._shared

    detector = how.make_detector() if how else None
    if isinstance(detector, MTCNNDetector):  # the tutorials build one detector and share it
        detector = SharedMTCNN(detector.min_face)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            return

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            if on_faces:
                picture = upright(decode_image(raw)[1]).convert("RGB")
                faces = detector.detect(for_detection(picture))
                batch = [
                    crop_tensor(run, piece)
                    for _, piece in crops.cuts(picture, faces, how)
                    if piece is not None
                ]
            else:
                batch = [data.model_input(raw, run.channels, run.config.image_size)]
            answer: dict = {"label": None}
            if batch:
                with lock:
                    out = model.predict(tf.stack(batch), verbose=0)
                    if run.config.flip_tta:
                        out = (out + model.predict(tf.image.flip_left_right(tf.stack(batch)), verbose=0)) / 2
                label, _ = decide(run, np.mean(out, axis=0).ravel()[0] if out.shape[-1] == 1 else out.mean(0))
                answer = {"label": label}
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # Werkzeug's (Flask's development server) backlog

    server = Server(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


async def load(url: str, bodies: list[bytes], concurrency: int, total: int) -> dict:
    """`total` requests from `concurrency` clients: answers a second and their latency; requests
    turned away (503 with Retry-After, not retried here) and failures counted apart."""
    latencies: list[float] = []
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for n in range(total):
        queue.put_nowait(bodies[n % len(bodies)])
    busy = failed = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal busy, failed
        while not queue.empty():
            body = queue.get_nowait()
            started = time.perf_counter()
            try:
                async with session.post(f"{url}/predict", data=body) as response:
                    await response.read()
                    status = response.status
            except aiohttp.ClientError:  # a refused or reset connection counts, it does not stop the run
                status = 0
            if status == 200:
                latencies.append(time.perf_counter() - started)
            busy += status == 503
            failed += status not in (200, 503)

    async with aiohttp.ClientSession() as session:
        await session.post(f"{url}/predict", data=bodies[0])  # warm: the first call builds the graph
        began = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        seconds = time.perf_counter() - began
    ordered = sorted(latencies) or [float("nan")]
    return {
        "rps": len(latencies) / seconds,
        "p50": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "requests": total,
        "busy": busy,
        "failed": failed,
    }


def serve_process(run_dir: str, port: int) -> subprocess.Popen:
    command = [sys.executable, "-c", "from trainer.cli import serve_main; serve_main()", run_dir]
    process = subprocess.Popen([*command, "--port", str(port), "--json"], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    process.stdout.readline()
    for _ in range(240):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.25)
    raise RuntimeError("serve did not start")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=96, help="per level, whole-frame run")
    parser.add_argument("--face-requests", type=int, default=48, help="per level, face run")
    parser.add_argument("--concurrency", default="1,8,16,32")
    parser.add_argument("--runs", default="whole,face", help="which runs: whole (whole-frame), face")
    args = parser.parse_args()
    from happysad.common.tf_runtime import quiet_tensorflow

    quiet_tensorflow()
    levels = [int(c) for c in args.concurrency.split(",")]
    bodies = photos(48)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        console.print("training a whole-frame run (one epoch: speed does not depend on accuracy)")
        runs = {}
        if "whole" in args.runs:
            runs["whole-frame (compact, 128 px)"] = (str(whole_frame_run(Path(tmp))), args.requests)
        if "face" in args.runs:
            runs["face run (prior, MTCNN)"] = ("prior", args.face_requests)
        for name, (run_dir, total) in runs.items():
            for kind in ("baseline", "serve"):
                port = _port()
                started = baseline(run_dir, port) if kind == "baseline" else serve_process(run_dir, port)
                try:
                    for c in levels:
                        figures = asyncio.run(load(f"http://127.0.0.1:{port}", bodies, c, total))
                        rows.append({"run": name, "server": kind, "c": c, **figures})
                        console.print(rows[-1])
                finally:
                    if kind == "baseline":
                        started.shutdown()
                    else:
                        started.terminate()
                        started.wait()
    table = Table(
        caption=machine.line(),
        title="serve vs the tutorials' server (threaded, one model.predict a request), loopback, 640 px photos",
    )
    for column in (
        "run",
        "concurrency",
        "server",
        "answers/s",
        "p50 s",
        "p95 s",
        "× baseline",
        "turned away (503)",
        "failed",
    ):
        table.add_column(column)
    base = {(r["run"], r["c"]): r["rps"] for r in rows if r["server"] == "baseline"}
    for r in sorted(rows, key=lambda r: (r["run"], r["c"], r["server"])):
        table.add_row(
            r["run"],
            str(r["c"]),
            r["server"],
            f"{r['rps']:.1f}",
            f"{r['p50']:.3f}",
            f"{r['p95']:.3f}",
            f"{r['rps'] / base[(r['run'], r['c'])]:.1f}",
            f"{r['busy']} of {r['requests']}",
            str(r["failed"]),
        )
    Console().print(table)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
