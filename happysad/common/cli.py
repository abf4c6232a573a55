"""What every command line shares: the --data and --json options, one-line errors, consoles.

One definition, so `collect`, `curate`, `train`, `evaluate` and `predict` name and explain
the same options the same way.
"""

from __future__ import annotations

import errno
import functools
import io
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console

from happysad.common.errors import HappysadError, first_line
from happysad.common.sqlite import disk_full

err = Console(stderr=True)
out = Console()

DataOpt = Annotated[
    Path | None,
    typer.Option("--data", metavar="DIR", help="Workspace (default: $HAPPYSAD_DATA, else ./data)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON value on stdout and nothing else.")]


def choices(name: str, names: Iterable[str]) -> type[Enum]:
    """An Enum of a registry's names: Typer then validates, lists them in --help, and exits 2."""
    return Enum(name, {n: n for n in names}, type=str)  # type: ignore[return-value]


def fail(command: str, message: str, code: int = 1) -> typer.Exit:
    """Print `<command>: error: <message>` on stderr; raise the returned Exit."""
    err.print(f"{command}: error: {message}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(code)


P = ParamSpec("P")
R = TypeVar("R")
INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


DISK_FULL = "; free some space and run the command again"


def os_error_line(exc: OSError) -> str:
    """`No space left on device: /path` rather than `[Errno 28] ...`, with a hint where one helps."""
    full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
    # a full disk is the destination's: a copy names its source first (shutil's filename2)
    where = (exc.filename2 or exc.filename) if full else exc.filename
    line = f"{exc.strerror or first_line(exc)}: {where or ''}".rstrip(": ")
    if full:
        line += DISK_FULL
    return line


def sqlite_error_line(exc: sqlite3.Error) -> str:
    """A workspace database's error as one line: a full disk said as such, not as damage."""
    full = disk_full(exc)
    if full is not None:
        return os_error_line(full)
    return f"a workspace database is damaged or unreadable ({first_line(exc)})"


@contextmanager
def json_only_stdout() -> Iterator[None]:
    """While a --json command runs, what anything else writes to file descriptor 1 (FiftyOne's
    database service, a C library, a child process) goes to stderr; Python's sys.stdout keeps
    the real stdout, so it carries the command's one JSON value and nothing else."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        real = sys.stdout.fileno() == 1
    except (AttributeError, OSError, io.UnsupportedOperation):  # a test runner's capture
        real = False
    before = sys.stdout
    if real:
        sys.stdout = open(os.dup(saved), "w", encoding=before.encoding or "utf-8")  # noqa: SIM115
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        if real:
            sys.stdout.close()
            sys.stdout = before


def one_line_errors(
    command: str,
    on_interrupt: str = "interrupted",
    lost_database: Callable[[Exception], bool] | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Wrap a command's function: whatever stops it ends as one line on stderr and an exit code.

    `HappysadError` says its own line and code; an `OSError` (a full disk, an unwritable path)
    and a `sqlite3.Error` (a damaged workspace database, or a full disk) become one line and
    exit 1, as does an error `lost_database` recognises (the review database gone
    mid-command); Ctrl-C is `on_interrupt` and exit 130. Anything else is a bug and keeps its
    traceback. With --json, stdout is kept for the JSON value alone (`json_only_stdout`).
    """

    def stopped(exc: BaseException) -> tuple[str, int] | None:
        """The line and exit code for what stopped the command; None for a bug."""
        if isinstance(exc, HappysadError):
            return str(exc), exc.exit_code
        if isinstance(exc, KeyboardInterrupt):
            return on_interrupt, INTERRUPTED
        if isinstance(exc, OSError):
            return os_error_line(exc), 1
        if isinstance(exc, sqlite3.Error):
            return sqlite_error_line(exc), 1
        if isinstance(exc, Exception) and lost_database is not None and lost_database(exc):
            return f"the review database stopped answering ({first_line(exc)[:200]}); rerun", 1
        return None

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            as_json = bool(kwargs.get("as_json"))
            try:
                if as_json:
                    with json_only_stdout():
                        return fn(*args, **kwargs)
                return fn(*args, **kwargs)
            except (Exception, KeyboardInterrupt) as exc:
                said = stopped(exc)
                if said is None:
                    raise
                if as_json:  # a machine reading --json gets one JSON value on failure too
                    print(json.dumps({"error": said[0], "exit": said[1]}), flush=True)
                raise fail(command, *said) from None

        return run

    return wrap
