"""Screenshot a saved view of a workspace's FiftyOne dataset in the App (for the README), or a
saved App workspace with a panel opened (`--click` the text that opens it).

    .venv/bin/python scripts/screenshot.py --data demo-data --view "likely mislabelled" \
        --out docs/likely-mislabelled.jpg
    .venv/bin/python scripts/screenshot.py --data demo-data --view "" \
        --workspace "faces by similarity" --click face_map --click None \
        --click face_predictions.detections.label --out docs/faces-by-similarity.jpg

Serves the App with `curate review --no-browser` on a free loopback port, opens the view in
headless Chromium, and saves a JPEG.
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collector.browser import LAUNCH_ARGS, locate
from curation.review import dataset_name


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=Path("demo-data"))
    parser.add_argument("--view", default="likely mislabelled")
    parser.add_argument("--workspace", default="", help="A saved App workspace to open.")
    parser.add_argument(
        "--click", action="append", default=[], help="Text to click once the App is shown (repeat: in turn)."
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=900)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    port = _free_port()
    curate = [sys.executable, "-c", "import curation.cli as m; m.main()"]
    app = subprocess.Popen(
        [*curate, "review", "--no-browser", "--port", str(port), "--data", str(args.data)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if app.poll() is not None:
                    raise SystemExit(
                        "screenshot: error: `curate review` stopped before serving the App"
                    ) from None
                time.sleep(0.5)
        slug = args.view.replace(" ", "-").replace("(", "").replace(")", "")
        url = f"http://127.0.0.1:{port}/datasets/{dataset_name(args.data)}"
        url += f"?view={slug}" if slug else ""
        executable = locate()  # before the block: it starts a Playwright of its own
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            page.goto(url)
            page.locator('[data-cy="looker"]').first.wait_for(timeout=120_000)
            time.sleep(4)  # thumbnails load after the grid appears
            dismiss = page.get_by_text("Dismiss", exact=True)  # FiftyOne's advertising pop-up
            if dismiss.count():
                dismiss.first.click()
                time.sleep(0.5)
            if args.workspace:  # the App's workspace menu, behind the "Unsaved" of the panes
                page.get_by_text("Unsaved", exact=True).first.click()
                page.get_by_text(args.workspace, exact=True).first.click()
                time.sleep(6)
            for text in args.click:
                page.get_by_text(text, exact=True).first.click(timeout=60_000)
                time.sleep(4)  # a panel draws its points
            png = page.screenshot()
            browser.close()
    finally:
        os.killpg(app.pid, signal.SIGTERM)
        app.wait(timeout=30)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.open(io.BytesIO(png)).convert("RGB").save(args.out, quality=85)
    print(f"{args.out}: {args.view!r} of {args.data}")


if __name__ == "__main__":
    main()
