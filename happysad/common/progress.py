"""Progress for long work, wherever it runs: rich bars on a terminal's stderr, tqdm's meter in
a cell inside Jupyter, nothing when asked (`--json`, `progress=False`) or when no one watches.

One home, so `collect`, `curate` and `train` on the command line and `happysad.Workspace` in a
notebook show the same bars::

    with Bars(progress=None) as bars:          # None: on in a terminal or a notebook
        bar = bars.add("scan", total=300)
        bar.advance(1)
        bar.update(note="3 flagged")
"""

from __future__ import annotations

import sys
import time
from typing import Any

from rich.console import Console

err = Console(stderr=True)


def in_notebook() -> bool:
    """Inside a Jupyter kernel (where a rich live display would not redraw, and tqdm's does)."""
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None)
    return get is not None and type(get()).__name__ == "ZMQInteractiveShell"


def wanted(progress: bool | None) -> bool:
    """`progress` as asked; None means on where someone watches (a terminal or a notebook)."""
    return progress if progress is not None else (err.is_terminal or in_notebook())


class Bar:
    """One bar, drawn at its first news (a bar for a step that does not happen never shows);
    its total may come later (a search finds how much there is as it goes)."""

    def __init__(self, backend: Any, name: str, total: int | None) -> None:
        self._backend, self._name, self._total = backend, name, total
        self._key: Any = None

    def _drawn(self) -> Any:
        if self._key is None:
            self._key = self._backend.add(self._name, self._total)
        return self._key

    def update(self, completed: int | None = None, total: int | None = None, note: str | None = None) -> None:
        self._backend.update(self._drawn(), completed, total, note)

    def advance(self, n: int = 1) -> None:
        self._backend.advance(self._drawn(), n)


class _Rich:
    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"),
            TimeElapsedColumn(),
        )
        self.progress = Progress(*columns, console=err)

    def add(self, name: str, total: int | None) -> Any:
        return self.progress.add_task(name, total=total, note="")

    def update(self, key: Any, completed: int | None, total: int | None, note: str | None) -> None:
        fields = {"note": note} if note is not None else {}
        self.progress.update(key, completed=completed, total=total, **fields)

    def advance(self, key: Any, n: int) -> None:
        self.progress.advance(key, n)

    def start(self) -> None:
        self.progress.start()

    def stop(self) -> None:
        self.progress.stop()


class _Notebook:
    """tqdm's meter in a cell output updated in place (a display handle): one output per bar
    however often it moves, so a saved or rendered notebook keeps the final line, not a
    thousand stream writes, and it needs no widget library."""

    EVERY = 0.2  # seconds between redraws: a fast loop does not flood the kernel's messages

    def __init__(self) -> None:
        self.bars: list[dict[str, Any]] = []

    def add(self, name: str, total: int | None) -> dict[str, Any]:
        from IPython.display import display

        bar = {"name": name, "total": total, "n": 0, "note": "", "start": time.monotonic(), "drawn": 0.0}
        bar["handle"] = display(self._text(bar), display_id=True)
        self.bars.append(bar)
        return bar

    @staticmethod
    def _text(bar: dict[str, Any]) -> Any:
        from IPython.display import Pretty
        from tqdm import tqdm

        elapsed = time.monotonic() - bar["start"]
        meter = tqdm.format_meter(
            bar["n"], bar["total"], elapsed, prefix=bar["name"], postfix=bar["note"] or None
        )
        return Pretty(meter)

    def _draw(self, bar: dict[str, Any], force: bool = False) -> None:
        now = time.monotonic()
        if force or now - bar["drawn"] >= self.EVERY or bar["n"] == bar["total"]:
            bar["drawn"] = now
            bar["handle"].update(self._text(bar))

    def update(self, key: dict[str, Any], completed: int | None, total: int | None, note: str | None) -> None:
        for field, value in (("n", completed), ("total", total), ("note", note)):
            if value is not None:
                key[field] = value
        self._draw(key)

    def advance(self, key: dict[str, Any], n: int) -> None:
        key["n"] += n
        self._draw(key)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        for bar in self.bars:
            self._draw(bar, force=True)


class _Off:
    def add(self, name: str, total: int | None) -> None:
        return None

    def update(self, key: Any, completed: int | None, total: int | None, note: str | None) -> None:
        pass

    def advance(self, key: Any, n: int) -> None:
        pass

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


class Bars:
    """A group of bars for one job; `progress` as `wanted` reads it."""

    def __init__(self, progress: bool | None = None) -> None:
        on = wanted(progress)
        self._backend: Any = (_Notebook() if in_notebook() else _Rich()) if on else _Off()

    def add(self, name: str, total: int | None = None) -> Bar:
        return Bar(self._backend, name, total)

    def __enter__(self) -> Bars:
        self._backend.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._backend.stop()
