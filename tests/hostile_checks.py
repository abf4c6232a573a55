"""What every hostile-input test checks of a command (one line and exit 1 when it refuses, no
traceback when it goes on, raw/ byte for byte as it was) and the hostile settings they share:
a full disk in miniature, a robots.txt that redirects."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from aiohttp import web

from collector.downloader import Downloader, DownloadSettings, FetchRefused
from tests.conftest import loopback_app


def raw_digests(data: Path) -> dict[str, str]:
    """Every file under the workspace's raw/, by path, with its SHA-256."""
    return {
        str(p.relative_to(data)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (data / "raw").rglob("*")
        if p.is_file()
    }


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a refused command says, exit 1, no traceback."""
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    (line,) = result.stderr.strip().splitlines()
    return line


def clean(result: subprocess.CompletedProcess[str], *, code: int = 0) -> str:
    """stdout of a command that went on: the exit code asked, no traceback anywhere."""
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr[-3000:]
    assert result.returncode == code, result.stderr[-3000:]
    return result.stdout


@contextmanager
def small_disk(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `folder`: a full disk in miniature. Skips the test where
    mounting is refused (not root, no mount)."""
    folder.mkdir()
    mounted = (
        shutil.which("mount") is not None
        and not subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)]
        ).returncode
    )
    if not mounted:
        pytest.skip("cannot mount a small tmpfs here (not root?)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)])


async def fetch_behind_robots(location: str) -> str:
    """Fetch an image from a loopback site whose robots.txt redirects to `location`: the reason
    the downloader refused it, or "fetched"."""

    async def robots(request: web.Request) -> web.Response:
        raise web.HTTPFound(location)

    async def image(request: web.Request) -> web.Response:
        return web.Response(body=b"\xff\xd8\xff", content_type="image/jpeg")

    async with (
        loopback_app({"/robots.txt": robots, "/a.jpg": image}) as base,
        Downloader(DownloadSettings(retries=0)) as downloader,
    ):
        try:
            await downloader.fetch(f"{base}/a.jpg")
        except FetchRefused as exc:
            return exc.reason
    return "fetched"
