"""Where the workspace lives: `--data DIR`, else `$HAPPYSAD_DATA`, else `./data`."""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ENV_VAR = "HAPPYSAD_DATA"
DEFAULT = "data"


def resolve_data_dir(option: Path | None = None) -> Path:
    """Return the absolute workspace directory, creating it so every stage can rely on it."""
    chosen = option if option is not None else Path(os.environ.get(ENV_VAR) or DEFAULT)
    path = chosen.expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def workspace_id(data_dir: Path) -> str:
    """A short random id kept in the workspace, naming its FiftyOne dataset."""
    marker = data_dir / ".workspace-id"
    if not marker.exists():
        marker.write_text(uuid.uuid4().hex[:8] + "\n")
    return marker.read_text().strip()


class WorkspaceBusy(RuntimeError):
    """Another process holds the workspace's lock for the same job."""


@contextmanager
def exclusive(data_dir: Path, job: str) -> Iterator[None]:
    """Hold `<data>/.<job>.lock` for the block, or raise WorkspaceBusy naming the holder.

    An advisory lock (flock): the kernel drops it when its holder dies, even by kill -9, so a
    crashed run never leaves the workspace locked.
    """
    path = data_dir / f".{job}.lock"
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise WorkspaceBusy(f"{holder} is already running `{job}` on {data_dir}; wait for it") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)
