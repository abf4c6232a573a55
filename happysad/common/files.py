"""Writes a reader, or a run killed at any moment, never sees half of: stage beside, then rename.

A file is written to a hidden sibling and renamed over its target (one `rename(2)`, atomic on
one filesystem). A folder (an export) is built whole beside its target and swapped in, so a
reader sees the old contents or the new, never a mix of the two; and one command at a time
builds it (a second `train --out` the same folder is refused, not interleaved).
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from happysad.common.errors import WorkspaceError


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
def _alone(target: Path) -> Iterator[None]:
    """Hold `target`'s lock (a hidden file beside it, gone afterwards) or raise WorkspaceError.
    Taken again when the file was replaced between opening and locking: the lock is the file
    at the path, never an unlinked one."""
    lock = target.with_name(f".{target.name}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        handle = lock.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise WorkspaceError(
                f"{target} is being written by another command; let it finish first"
            ) from None
        try:
            if os.stat(lock).st_ino == os.fstat(handle.fileno()).st_ino:
                break
        except FileNotFoundError:
            pass
        handle.close()
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)
        handle.close()


def replaceable(target: Path, marker: str, what: str) -> bool:
    """Whether `target` holds an earlier `what` (its `marker` file inside); False when it is new
    or an empty folder. Anything else (a file, a folder of other things: a run, a workspace) is
    refused with WorkspaceError, since `fresh_folder` replaces its target whole."""
    if (target / marker).is_file():
        return True
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise WorkspaceError(f"{target} is not an earlier {what} (no {marker}); choose a new or empty --out")
    return False


@contextmanager
def fresh_folder(target: Path) -> Iterator[Path]:
    """Yield an empty folder beside `target`; when the block succeeds, it becomes `target`.

    The old `target` is renamed aside, the new one renamed in, the old one deleted: a kill
    between the two renames leaves the old folder aside, and `recover_folder` (run first
    here) puts it back. On an error the half-built folder goes and `target` is untouched.
    One process at a time (`_alone`): another's recovery would delete this one's build.
    """
    with _alone(target):
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
