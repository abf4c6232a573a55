"""A killed run leaves raw/ and the manifest consistent; rerunning continues where it stopped."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import LiveSite, raw_files, rows, run_json

pytestmark = pytest.mark.browser


def _ok_count(data: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{data / 'collection.sqlite'}?mode=ro", uri=True, timeout=1)
        try:
            return db.execute("SELECT COUNT(*) FROM candidates WHERE status='ok'").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def _collecting(query: str, endpoint: str, data: Path, stderr: int) -> subprocess.Popen:
    """`collect QUERY` (60 pictures, 4 at a time a host) started in a session of its own, to be
    killed or interrupted with everything it started."""
    command = [sys.executable, "-m", "collector.cli", query, "--limit", "60", "--per-host", "4"]
    command += ["--endpoint", endpoint, "--data", str(data), "--allow-private", "--json"]
    return subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=stderr, text=True, start_new_session=True
    )


def test_sigkill_then_resume(live: LiveSite, tmp_path: Path):
    endpoint = f"{live.url}/images/search"
    live.site.image_delay = 0.1
    try:
        proc = _collecting("kill me", endpoint, tmp_path, subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while _ok_count(tmp_path) < 12 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI, its browser and everything else
        proc.wait()
    finally:
        live.site.image_delay = 0.0

    # Right after the kill, before anything reopens the workspace:
    db = sqlite3.connect(tmp_path / "collection.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    recorded = dict(db.execute("SELECT path, status FROM candidates WHERE path IS NOT NULL"))
    db.close()
    files = raw_files(tmp_path)
    assert files, "the run was killed before it stored anything"
    for f in files:  # every file is whole and the manifest knows it
        with Image.open(f) as img:
            img.load()
        assert recorded.get(str(f.relative_to(tmp_path))) in ("ok", "writing")
    for path, status in recorded.items():
        if status == "ok":
            assert (tmp_path / path).is_file()
    first = {r["url"] for r in rows(tmp_path) if r["status"] == "ok"}
    fetched_before = {path: len(times) for path, times in live.site.times.items()}

    summary = run_json("kill me", "--limit", str(60 - len(first)), "--endpoint", endpoint, data=tmp_path)
    assert summary["resumed"] > 0  # found-but-unfinished URLs are taken up first
    final = [r for r in rows(tmp_path) if r["status"] == "ok"]
    assert len(final) == 60 == len(raw_files(tmp_path))
    assert len({r["url"] for r in final}) == 60
    for url in first:  # nothing stored before the kill was downloaded again
        path = url.removeprefix(live.url)
        assert len(live.site.times[path]) == fetched_before[path]
    assert not any(r["status"] == "writing" for r in rows(tmp_path))


def test_rerun_skips_what_is_done_and_adds_new_images(live: LiveSite, tmp_path: Path):
    endpoint = f"{live.url}/images/search"
    first = run_json("again", "--limit", "10", "--endpoint", endpoint, data=tmp_path)
    assert first["ok"] == 10
    done = {r["url"].removeprefix(live.url) for r in rows(tmp_path) if r["status"] == "ok"}
    before = {p: len(live.site.times[p]) for p in done}
    second = run_json("again", "--limit", "10", "--endpoint", endpoint, data=tmp_path)
    assert second["ok"] == 10  # --limit counts new images
    assert second["skipped"] + second["resumed"] >= 10
    assert {p: len(live.site.times[p]) for p in done} == before
    assert len(raw_files(tmp_path)) == 20


def test_ctrl_c_is_one_line_and_resumable(live: LiveSite, tmp_path: Path):
    """Ctrl-C mid-run: one line, exit 130, no asyncio noise ("Future exception was never
    retrieved" from Playwright's driver, which the signal ends too), and what was stored stays."""
    endpoint = f"{live.url}/images/search"
    live.site.image_delay = 0.1
    try:
        proc = _collecting("ctrl c", endpoint, tmp_path, subprocess.PIPE)
        deadline = time.monotonic() + 60
        while _ok_count(tmp_path) < 8 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the browser's driver gets it too
        _, stderr = proc.communicate(timeout=60)
    finally:
        live.site.image_delay = 0.0
    assert proc.returncode == 130
    assert stderr.strip().splitlines() == [
        "collect: error: interrupted; run the same command again to resume"
    ]
    stored = [r for r in rows(tmp_path) if r["status"] == "ok"]
    assert stored and all((tmp_path / r["path"]).is_file() for r in stored)
