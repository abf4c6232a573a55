"""A rehearsal of the slow processor on a fast one: the README's `make test` (or `make demo`) on
a fresh clone, with the whole run held to 1/factor of the machine's CPU.

The suite's timeouts guard against hangs and are set against the slowest processor measured
(the 2-core AVX2-only AMD EPYC, where the suite takes 2.6-2.9x as long as on the AMX Xeon). On
the fast machine nothing shows whether they would hold there. This runs the command in a CPU
cgroup whose CFS quota is the machine's cores divided by --factor: every process of the run
(make, uv, pytest, TensorFlow, Chromium, mongod) shares that much CPU time a period, while
sleeps, timeouts and waits on loopback keep their real length, as on a slower processor. The
clone goes beside this checkout, as CI's does, so that ../shared is found.

It is a rehearsal, not the slow machine: a quota slows all work alike, where the EPYC is
slower at some than at other (it trains in float32 where the Xeon uses bfloat16; TensorFlow
starts 2.2 to 3.6x slower there). On two commits measured on the EPYC too, it took 0.84 to 1.09x the
rehearsal's time at 2.9 (docs/benchmarks.md). Needs root and a writable cpu cgroup (v1's
`cpu.cfs_quota_us` or v2's `cpu.max`).

    python bench/slow_machine.py [--factor 2.9] [--target test|demo] [--commit HEAD] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import machine

ROOT = Path(__file__).resolve().parents[1]
PERIOD_US = 100_000  # the CFS period: a quota is CPU time per 100 ms, stalls shorter than a frame
# pytest's closing line, as `make test` prints it: "370 passed, 1064 warnings in 927.30s (0:15:27)"
CLOSING = re.compile(r"^=*\s*(\d+ (?:passed|failed).*? in [\d.]+s.*?)\s*=*$", re.MULTILINE)


class NoCgroup(RuntimeError):
    """No cpu cgroup this process may create: not root, or no cpu controller mounted."""


def _v1_or_v2() -> tuple[Path, str]:
    """The folder to make the cgroup in and the quota file's name."""
    v1 = Path("/sys/fs/cgroup/cpu")
    if (v1 / "cpu.cfs_quota_us").is_file():
        return v1, "cpu.cfs_quota_us"
    for v2 in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified")):
        controllers = v2 / "cgroup.controllers"
        if controllers.is_file() and "cpu" in controllers.read_text().split():
            return v2, "cpu.max"
    raise NoCgroup("no cpu cgroup controller is mounted under /sys/fs/cgroup")


@contextlib.contextmanager
def held_to(factor: float) -> Iterator[Path]:
    """A new cpu cgroup allowed os.cpu_count() / factor of the CPU; yields its cgroup.procs.

    Whatever is still in it at the end (a daemon the run left) is killed, then it is removed."""
    parent, quota_file = _v1_or_v2()
    quota = round(_cores(factor) * PERIOD_US)
    group = parent / f"happysad-slow-{os.getpid()}"
    try:
        if quota_file == "cpu.max":
            with contextlib.suppress(OSError):  # already on, or not ours to turn on
                (parent / "cgroup.subtree_control").write_text("+cpu")
        group.mkdir()
        if quota_file == "cpu.max":
            (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
        else:
            (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (group / quota_file).write_text(str(quota))
    except OSError as error:
        raise NoCgroup(f"cannot make a cpu cgroup in {parent}: {error.strerror} (run as root)") from error
    try:
        yield group / "cgroup.procs"
    finally:
        for _ in range(50):
            left = (group / "cgroup.procs").read_text().split()
            if not left:
                break
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            time.sleep(0.1)
        group.rmdir()


def _clone(commit: str, into: Path) -> Path:
    """A fresh clone of this checkout at `commit`, as CI makes one."""
    subprocess.run(["git", "clone", "-q", str(ROOT), str(into)], check=True)
    subprocess.run(["git", "-C", str(into), "checkout", "-q", commit], check=True)
    return into


def _status(started: float, log: Path, factor: float) -> Text:
    """One line: the time so far and the log's last line."""
    last = ""
    with contextlib.suppress(OSError), log.open("rb") as handle:
        handle.seek(max(0, log.stat().st_size - 400))
        lines = handle.read().decode(errors="replace").strip().splitlines()
        last = lines[-1][-90:] if lines else ""
    return Text(f"{_minutes(time.monotonic() - started)} at 1/{factor:g} of the CPU · {last}")


def rehearse(clone: Path, target: str, factor: float, log: Path, console: Console) -> tuple[int, float]:
    """`make TARGET` in `clone` with CI=true, held to 1/factor of the CPU; (exit code, seconds)."""
    with held_to(factor) as procs, log.open("wb") as out:
        started = time.monotonic()
        process = subprocess.Popen(
            ["make", target],
            cwd=clone,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "CI": "true"},
            preexec_fn=lambda: procs.write_text("0"),  # "0": the process that writes, before make
        )
        with Live(_status(started, log, factor), console=console, transient=True) as live:
            while process.poll() is None:
                time.sleep(1)
                live.update(_status(started, log, factor))
        return process.returncode, time.monotonic() - started


def _cores(factor: float) -> float:
    """The CPU the run may use, in cores: this machine's held to 1/factor."""
    return (os.cpu_count() or 1) / factor


def _minutes(seconds: float) -> str:
    """`16 min 09 s`: whole seconds, so never `60 s`."""
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factor", type=float, default=2.9, help="how much slower (the EPYC's: 2.6-2.9)")
    parser.add_argument("--target", choices=("test", "demo"), default="test", help="make test or make demo")
    parser.add_argument("--commit", default="HEAD", help="what to clone (default: this checkout's HEAD)")
    parser.add_argument("--keep", action="store_true", help="keep the clone (its .venv is several GB)")
    args = parser.parse_args()
    console = Console(stderr=True)
    if args.factor < 1:
        parser.error("--factor is how much slower: 1 or more")
    log = Path(tempfile.mkdtemp(prefix="happysad-slow-")) / f"make-{args.target}.log"
    clone = ROOT.parent / f"happysad-slow-{os.getpid()}"  # beside this checkout, as CI's: ../shared
    try:
        code, seconds = rehearse(_clone(args.commit, clone), args.target, args.factor, log, console)
    except NoCgroup as error:
        console.print(f"slow_machine: error: {error}")
        raise SystemExit(1) from None
    finally:
        if not args.keep:
            shutil.rmtree(clone, ignore_errors=True)
    closing = CLOSING.findall(log.read_text(errors="replace"))
    table = Table(title=f"make {args.target} held to 1/{args.factor:g} of the CPU", caption=machine.line())
    for column in ("commit", "CPU allowed", "make " + args.target, "exit", "pytest said", "log"):
        table.add_column(column)
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", args.commit], capture_output=True
    )
    table.add_row(
        commit.stdout.decode().strip(),
        f"{_cores(args.factor):.2f} of {os.cpu_count()} cores",
        _minutes(seconds),
        str(code),
        closing[-1] if closing else "-",
        str(log),
    )
    Console(width=200).print(table)
    raise SystemExit(code)


if __name__ == "__main__":
    main()
