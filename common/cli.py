"""What every command line shares: the --data and --json options, one-line errors, consoles.

One definition, so `collect`, `curate`, `train`, `evaluate` and `predict` name and explain
the same options the same way.
"""

from __future__ import annotations

import errno
import functools
import sqlite3
from collections.abc import Callable, Iterable
from enum import Enum
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console

from common.errors import HappysadError, first_line

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


def os_error_line(exc: OSError) -> str:
    """`No space left on device: /path` rather than `[Errno 28] ...`, with a hint where one helps."""
    line = f"{exc.strerror or first_line(exc)}: {exc.filename or ''}".rstrip(": ")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        line += "; free some space and run the command again"
    return line


def one_line_errors(
    command: str,
    on_interrupt: str = "interrupted",
    lost_database: Callable[[Exception], bool] | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Wrap a command's function: whatever stops it ends as one line on stderr and an exit code.

    `HappysadError` says its own line and code; an `OSError` (a full disk, an unwritable path)
    and a `sqlite3.Error` (a damaged workspace database) become one line and exit 1, as does
    an error `lost_database` recognises (the review database gone mid-command); Ctrl-C is
    `on_interrupt` and exit 130. Anything else is a bug and keeps its traceback.
    """

    def wrap(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except HappysadError as exc:
                raise fail(command, str(exc), exc.exit_code) from None
            except KeyboardInterrupt:
                raise fail(command, on_interrupt, INTERRUPTED) from None
            except OSError as exc:
                raise fail(command, os_error_line(exc)) from None
            except sqlite3.Error as exc:
                detail = first_line(exc)
                raise fail(command, f"a workspace database is damaged or unreadable ({detail})") from None
            except Exception as exc:
                if lost_database is None or not lost_database(exc):
                    raise
                detail = first_line(exc)[:200]
                raise fail(command, f"the review database stopped answering ({detail}); rerun") from None

        return run

    return wrap
