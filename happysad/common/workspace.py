"""The workspace: where it lives (`--data DIR`, else `$HAPPYSAD_DATA`, else `./data`), the
names of what is in it, its id and its lock."""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from happysad.common.errors import WorkspaceError
from happysad.common.files import write_atomic

ENV_VAR = "HAPPYSAD_DATA"
DEFAULT = "data"

# What a workspace holds, by name (each written by one stage, read by the later ones).
COLLECTION = "collection.sqlite"  # collect's manifest: every candidate URL and its fate
CURATION = "curation.sqlite"  # curate's catalogue: scans, hashes, groups, faces
RAW = "raw"  # raw/<label>/<sha256[:16]>.<ext>: the images, content-addressed, never modified
CURATED = "curated"  # curate export: <label>/<images> + manifest.csv, the trainer's input
CURATED_FACES = "curated-faces"  # curate export --faces
DATASET_KEY = "fiftyone_dataset"  # catalogue meta key: the FiftyOne dataset's name


RAW_HASH_DIGITS = 16  # hex digits of SHA-256 in raw/ names: 64 bits, no collision at any realistic size


def raw_path(label: str, sha256: str, ext: str) -> str:
    """Where an image's bytes live in the workspace (relative): one scheme for collect and import."""
    return f"{RAW}/{label}/{sha256[:RAW_HASH_DIGITS]}.{ext}"


def _is_workspace(folder: Path) -> bool:
    return any((folder / name).exists() for name in (COLLECTION, CURATION, ".workspace-id"))


def chosen_data_dir(option: Path | None = None) -> Path:
    """The workspace `--data` names, absolute, unchecked: else $HAPPYSAD_DATA, else ./data."""
    return (option if option is not None else Path(os.environ.get(ENV_VAR) or DEFAULT)).expanduser().resolve()


def resolve_data_dir(option: Path | None = None, create: bool = False) -> Path:
    """The absolute workspace directory; WorkspaceError (one line) when it cannot be used.

    Only the commands that bring images in (`collect`, `curate import`) create it: a typo in
    `--data` on any other command says the workspace does not exist instead of starting one.
    """
    path = chosen_data_dir(option)
    for outer in path.parents:
        if path.is_relative_to(outer / RAW) and _is_workspace(outer):
            raise WorkspaceError(
                f"{path} is inside the raw/ of the workspace {outer}, which no command writes to; "
                "choose a --data outside it"
            )
    if path.exists() and not path.is_dir():
        raise WorkspaceError(f"workspace {path} is a file, not a folder")
    if not path.exists():
        if not create:
            raise WorkspaceError(
                f"no workspace at {path}: run `collect` or `curate import` first, or name one with --data"
            )
        path.mkdir(parents=True)
    if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
        raise WorkspaceError(f"workspace {path} is not readable and writable by this user")
    return path


def workspace_id(data_dir: Path) -> str:
    """A short random id kept in the workspace, naming its FiftyOne dataset.

    The marker also records where the workspace lives. A moved workspace keeps its id (and
    so its reviews); a copy, whose original still holds the same id, gets an id of its own, so
    the two never share, and double, one dataset.
    """
    marker = data_dir / ".workspace-id"
    here = str(data_dir.resolve())
    if marker.exists():
        ident, _, where = marker.read_text().partition("\n")
        ident, where = ident.strip(), where.strip()
        if where == here:
            return ident
        original = Path(where) / ".workspace-id" if where else None
        copied = original is not None and original.exists() and original.read_text().split("\n")[0] == ident
        if not copied:  # moved (or a marker from before paths were recorded)
            write_atomic(marker, f"{ident}\n{here}\n")
            return ident
    ident = uuid.uuid4().hex[:8]
    write_atomic(marker, f"{ident}\n{here}\n")
    return ident


class WorkspaceBusy(WorkspaceError):
    """Another process holds the workspace's lock for the same job."""


@contextmanager
def exclusive(data_dir: Path, job: str, wait: bool = False) -> Iterator[None]:
    """Hold `<data>/.<job>.lock` for the block; when another process holds it, wait for it
    (`wait`, for short jobs such as a review's dataset sync) or raise WorkspaceBusy naming it.

    An advisory lock (flock): the kernel drops it when its holder dies, even by kill -9, so a
    crashed run never leaves the workspace locked.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / f".{job}.lock"
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
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
