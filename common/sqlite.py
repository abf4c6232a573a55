"""The SQLite conventions both stages' records share: WAL, named rows, explicit transactions."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common.errors import WorkspaceError, first_line


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
        raise WorkspaceError(
            f"{path} is damaged or not a database ({first_line(exc)}); move it aside (keep a copy) and rerun"
        ) from None
    return db


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
