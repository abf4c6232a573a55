"""The SQLite conventions both stages' records share: WAL, named rows, explicit transactions."""

from __future__ import annotations

import contextlib
import errno
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from happysad.common.errors import WorkspaceError, first_line

FULL_BELOW = 2**20  # free bytes under which a disk I/O error is taken for a full disk


def connect(path: Path, read_only: bool = False) -> sqlite3.Connection:
    """Autocommit connection in WAL mode, so readers never block the writer.

    A file that is not a database (truncated, overwritten, another format) is a
    WorkspaceError naming it, not a traceback from the first query.
    """
    try:
        if read_only:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        else:
            db = sqlite3.connect(path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        if not read_only:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        if (full := disk_full(exc, path)) is not None:
            raise full from None
        raise WorkspaceError(
            f"{path} is damaged or not a database ({first_line(exc)}); move it aside (keep a copy) and rerun"
        ) from None
    return db


def disk_full(exc: sqlite3.Error, path: Path | None = None) -> OSError | None:
    """The OSError a full disk is, when SQLite's error is one, so it reads as one (not as a
    damaged database, whose advice would be to move the file aside): "database or disk is
    full", or a "disk I/O error" (opening in WAL mode on a full disk) while `path`'s
    filesystem has no space left."""
    code = getattr(exc, "sqlite_errorcode", None) or 0
    full = code == sqlite3.SQLITE_FULL
    if not full and path is not None and code & 0xFF == sqlite3.SQLITE_IOERR:
        with contextlib.suppress(OSError):
            full = shutil.disk_usage(path.parent).free < FULL_BELOW
    return OSError(errno.ENOSPC, "No space left on device", str(path) if path else None) if full else None


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """Commit everything inside on success, nothing on error."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
