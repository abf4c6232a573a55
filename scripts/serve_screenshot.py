"""Screenshot the page `serve` answers with, photos picked and read (for the README).

    .venv/bin/python scripts/serve_screenshot.py --out docs/serve-page.jpg [--run prior] [PHOTO ...]

Starts `serve RUN` on a free loopback port, picks the photos on its page in headless Chromium
(default: two drawn scenes, so no one's photo ends up in the README), waits for each to be
read and drawn, and saves a JPEG.
"""

from __future__ import annotations

import argparse
import io
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collector.browser import LAUNCH_ARGS, locate


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("photos", nargs="*", type=Path)
    parser.add_argument("--run", default="prior")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-c", "from trainer.cli import serve_main; serve_main()", args.run]
    server = subprocess.Popen([*command, "--port", str(port), "--json"], stdout=subprocess.PIPE, text=True)
    executable = locate()
    with tempfile.TemporaryDirectory() as tmp:
        photos = args.photos
        if not photos:
            from tests.faces_data import scene

            for seed, mood in ((4, "happy"), (9, "sad")):
                photos.append(Path(tmp) / f"{mood}.jpg")
                scene(seed, mood, 2, size=(560, 380))[0].save(photos[-1], quality=92)
        try:
            assert server.stdout is not None and json.loads(server.stdout.readline())["url"]
            for _ in range(240):
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.25)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
                page = browser.new_page(viewport={"width": 1000, "height": 620})
                page.goto(f"http://127.0.0.1:{port}/")
                page.set_input_files("#files", [str(p) for p in photos])
                page.wait_for_function(f"document.querySelectorAll('.result.drawn').length >= {len(photos)}")
                shot = page.screenshot(full_page=True)
                browser.close()
        finally:
            server.terminate()
            server.wait()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.open(io.BytesIO(shot)).convert("RGB").save(args.out, quality=85)
    print(args.out)


if __name__ == "__main__":
    main()
