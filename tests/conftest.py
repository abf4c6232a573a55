"""Shared fixtures: the loopback fixture site and a way to run the real `collect` command."""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import traceback
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer

from collector.demo.server import serve
from tests.fixture_site import FixtureSite, build


@pytest.fixture(autouse=True)
def ctrl_c_as_a_terminal_leaves_it() -> None:
    """The tests that press Ctrl-C (exit 130, one line) need the programs they start to take
    SIGINT. A run started as a background job, or something earlier in the same worker, can
    leave it ignored, and an ignored signal stays ignored across exec (a handler does not):
    in one CI-like run a `serve` and a `collect` started with it ignored and ran on."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@dataclass
class LiveSite:
    url: str
    site: FixtureSite


# what the commands print, as the tests read it, whether they run in a subprocess or in here
os.environ.update({"NO_COLOR": "1", "COLUMNS": "200", "TF_CPP_MIN_LOG_LEVEL": "3"})

# A test worker's TensorFlow (in here and in the commands it starts) takes its share of the
# cores, not all of them: two workers of two threads each on 2 cores contend. pytest took
# 405-411 s with two threads a worker and 385-400 s with one (three runs each, 2-core AMX Xeon).
_SHARE = str(max(1, (os.cpu_count() or 1) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))))
for _threads in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
    os.environ.setdefault(_threads, _SHARE)

SLOWEST = "test_loop.py"  # the demo end to end: 72 s of the suite's 665 (test_faces.py: 90)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The demo's file first: on two workers (`make test`, files in collection order) it then
    runs beside the rest instead of alone at the end; the two workers finished 3 to 12 s apart
    in two runs (347 / 350 s and 327 / 339 s on the AMX Xeon). Only it: with the TensorFlow
    files also first, all of them contended and the run took longer. The order within a file
    is kept."""
    items.sort(key=lambda item: item.path.name != SLOWEST)


@pytest.fixture(scope="session")
def live() -> Iterator[LiveSite]:
    site = build()
    with serve(site) as url:
        yield LiveSite(url, site)


def run_collect(
    *args: str, data: Path, timeout: float = 180, allow_private: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess, as a user would; the test sites are on loopback."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "collector.cli",
            *args,
            "--data",
            str(data),
            *(["--allow-private"] if allow_private else []),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def run_json(*args: str, data: Path) -> dict:
    result = run_collect(*args, "--json", data=data)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def rows(data: Path) -> list[dict]:
    db = sqlite3.connect(data / "collection.sqlite")
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM candidates ORDER BY id")]
    finally:
        db.close()


def by_url(data: Path) -> dict[str, dict]:
    return {r["url"]: r for r in rows(data)}


def raw_files(data: Path) -> list[Path]:
    return sorted(p for p in (data / "raw").rglob("*") if p.is_file())


def run_cli(
    command: str, *args: str, data: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run one of the package's console commands (curate, ...) in a subprocess."""
    module, main = {
        "curate": ("curation.cli", "main"),
        "collect": ("collector.cli", "main"),
        "train": ("trainer.cli", "train_main"),
    }[command]
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", f"import {module} as m; m.{main}()", *args, "--data", str(data)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )


def invoke(
    app: typer.Typer, name: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command's Typer app in this process with Typer's test runner (`env` set for the
    call); the result reads as `run_cli`'s does (exit code, stdout, stderr), with a traceback
    on stderr if one escaped."""
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, list(args), env=env, prog_name=name)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess([name, *args], result.exit_code, result.stdout, stderr)


def curate_json(*args: str, data: Path, env: dict[str, str] | None = None) -> dict:
    """A `curate` command's JSON, run in this process: FiftyOne (and TensorFlow, for
    predictions) start once per test worker, not once per call. `run_cli` runs it as a process,
    for what a process shows (exit codes, one-line errors)."""
    from curation import cli

    result = invoke(cli.app, "curate", *args, "--json", "--data", str(data), env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="session")
def fiftyone_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """FiftyOne settings for the whole session: a database dir of the tests' own, and one
    client held open (see below). The workers share one mongod; dataset names never collide."""
    # one directory for every test worker: they share one mongod, and a command whose
    # configured directory is not the running service's is refused (curation.database.ours)
    base = tmp_path_factory.getbasetemp()
    db = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "fiftyone-db"
    db.mkdir(exist_ok=True)
    env = {
        "FIFTYONE_DATABASE_DIR": str(db),
        "FIFTYONE_DO_NOT_TRACK": "true",
        "FIFTYONE_DATABASE_VALIDATION": "false",
    }
    env.pop("FIFTYONE_DATABASE_URI", None)
    # FiftyOne stops its mongod when its last client exits, and a CLI call that starts it again
    # while the last one is still shutting down can find it gone (seen on two busy workers). One
    # client held open for the session keeps one mongod up for every command the tests run.
    # FiftyOne attaches to any database service it finds running, another test worker's too, so
    # two starting at once can meet one half started: the workers start theirs one at a time
    log = db / f"keeper-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.log"
    with (tmp_path_factory.getbasetemp().parent / "fiftyone-start.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        keeper = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys\nimport fiftyone as fo\nfo.list_datasets()\nprint('up', flush=True)\n"
                "sys.stdin.read()",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log.open("w"),
            text=True,
            env={**os.environ, **env},
        )
        said = keeper.stdout.readline().strip() if keeper.stdout is not None else ""
    assert said == "up", f"mongod did not start: {said!r} {log.read_text()[-2000:]}"
    yield env
    # FiftyOne's service stops mongod once its last client is gone: the keeper now, or this
    # process at its exit (tests that use FiftyOne in-process), whose exit hook still queries it
    assert keeper.stdin is not None
    keeper.stdin.close()
    keeper.wait(timeout=120)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@asynccontextmanager
async def loopback_app(routes: dict[str, Callable], host: str = "127.0.0.1") -> AsyncIterator[str]:
    """A throwaway aiohttp server on a loopback address with these GET routes; yields its base URL."""
    from aiohttp import web

    app = web.Application()
    for path, handler in routes.items():
        app.router.add_get(path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    try:
        yield f"http://{host}:{site._server.sockets[0].getsockname()[1]}"
    finally:
        await runner.cleanup()


@contextmanager
def review_app(data: Path, env: dict[str, str], *options: str) -> Iterator[str]:
    """`curate review --no-browser` serving the FiftyOne App on a free port; yields its URL
    (on FIFTYONE_DEFAULT_APP_ADDRESS when `env` sets it, else 127.0.0.1)."""
    host = env.get("FIFTYONE_DEFAULT_APP_ADDRESS", "127.0.0.1")
    port = _free_port()
    curate = [sys.executable, "-c", "import curation.cli as m; m.main()"]
    proc = subprocess.Popen(
        [*curate, "review", "--no-browser", "--port", str(port), "--data", str(data), *options],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(0.5)
    try:
        yield f"http://{host}:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


APP_LOAD_MS = 30_000  # a saved view loads in 4 s beside a TensorFlow fit on the AVX2-only EPYC


def open_app_view(page, address: str, shows: str | re.Pattern, shots: Path) -> None:
    """Open `address` (a saved view's `?view=` link) and wait until the grid shows `shows`.
    Now and then (1 in 4 runs here, once in CI) the App's first page ignores `?view=` and shows
    the whole dataset as an unsaved view, the launched session's state winning the race; the
    page is loaded again, and a third miss fails with what the App showed each time."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    seen = []
    for _attempt in range(3):
        page.goto(address)
        try:
            page.get_by_text(shows).first.wait_for(timeout=APP_LOAD_MS)
            return
        except PlaywrightTimeout:
            seen.append(page.inner_text("body")[:1000])
            page.screenshot(path=str(shots / f"app-timeout-{len(seen)}.png"))
    raise AssertionError(f"the App never showed {shows!r}; it showed: {seen}")


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list]]:
    """Drawn scenes of people (10 a label, 2 banners without a face) and where their faces are."""
    from PIL import Image

    from tests.faces_data import make_scenes

    root = tmp_path_factory.mktemp("scenes")
    truth = make_scenes(root, per_label=10, banners=2)
    # a smaller copy of a three-face scene: dedupe groups it with the original
    Image.open(root / "happy/scene-2.jpg").resize((240, 180)).save(
        root / "happy/scene-2-small.jpg", quality=85
    )
    truth["happy/scene-2-small.jpg"] = truth["happy/scene-2.jpg"]
    return root, truth
