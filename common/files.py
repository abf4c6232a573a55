"""Writes a reader, or a run killed at any moment, never sees half of: stage beside, then rename.

A file is written to a hidden sibling and renamed over its target (one `rename(2)`, atomic on
one filesystem). A folder (an export) is built whole beside its target and swapped in, so a
reader sees the old contents or the new, never a mix of the two.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def write_atomic(target: Path, payload: bytes | str, durable: bool = False) -> None:
    """Replace `target` with `payload` in one step; `durable` also fsyncs it (raw data)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.part")
    data = payload.encode() if isinstance(payload, str) else payload
    try:
        with staging.open("wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(staging, target)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


def _siblings(target: Path) -> tuple[Path, Path]:
    return target.with_name(f".{target.name}.building"), target.with_name(f".{target.name}.old")


def recover_folder(target: Path) -> None:
    """Undo what a run killed mid-swap left: the old folder back in place, the half-built one gone."""
    building, old = _siblings(target)
    if old.exists() and not target.exists():
        old.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(building, ignore_errors=True)


@contextmanager
def fresh_folder(target: Path) -> Iterator[Path]:
    """Yield an empty folder beside `target`; when the block succeeds, it becomes `target`.

    The old `target` is renamed aside, the new one renamed in, the old one deleted: a kill
    between the two renames leaves the old folder aside, and `recover_folder` (run first
    here) puts it back. On an error the half-built folder goes and `target` is untouched.
    """
    recover_folder(target)
    building, old = _siblings(target)
    building.mkdir(parents=True)
    try:
        yield building
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    if target.exists():
        target.rename(old)
    building.rename(target)
    shutil.rmtree(old, ignore_errors=True)
