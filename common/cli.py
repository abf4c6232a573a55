"""What every command line shares: the --data and --json options, one-line errors, consoles.

One definition, so `collect`, `curate`, `train`, `evaluate` and `predict` name and explain
the same options the same way.
"""

from __future__ import annotations

import typer
from rich.console import Console

err = Console(stderr=True)
out = Console()

DataOpt = typer.Option(
    None, "--data", metavar="DIR", help="Workspace (default: $HAPPYSAD_DATA, else ./data)."
)
JsonOpt = typer.Option(False, "--json", help="Print one JSON value on stdout and nothing else.")


def fail(command: str, message: str, code: int = 1) -> typer.Exit:
    """Print `<command>: error: <message>` on stderr; raise the returned Exit."""
    err.print(f"{command}: error: {message}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(code)
