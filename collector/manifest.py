"""`collection.sqlite`: one row per candidate URL and label, the provenance record.

Statuses: `pending` (found, not yet handled), `writing` (file being moved into raw/),
`ok`, `duplicate`, `filtered`, `failed`. A row is `writing` only between the two commits
around the atomic rename of its file, so after a kill `reconcile` can tell from the
disk which side of the rename it stopped on.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from happysad.common import sqlite
from happysad.common.workspace import COLLECTION

if TYPE_CHECKING:  # only a type here: curation reads the manifest without the browser's imports
    from collector.engines.base import Candidate

SCHEMA = """
CREATE TABLE IF NOT EXISTS candidates (
    id INTEGER PRIMARY KEY,
    query TEXT NOT NULL,
    label TEXT NOT NULL,
    engine TEXT NOT NULL,
    rank INTEGER,
    url TEXT NOT NULL,
    page_url TEXT,
    title TEXT,
    thumb_url TEXT,
    status TEXT NOT NULL DEFAULT 'pending',
    reason TEXT,
    sha256 TEXT,
    path TEXT,
    width INTEGER,
    height INTEGER,
    format TEXT,
    bytes INTEGER,
    is_thumbnail INTEGER NOT NULL DEFAULT 0,
    fetched_url TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (label, url)
);
CREATE INDEX IF NOT EXISTS candidates_sha ON candidates (label, sha256);
CREATE INDEX IF NOT EXISTS candidates_status ON candidates (label, status);
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Row:
    id: int
    query: str
    label: str
    engine: str
    rank: int | None
    url: str
    page_url: str | None
    title: str | None
    thumb_url: str | None
    status: str


@dataclass(frozen=True)
class Stored:
    """What is known about a file once it is checked and hashed."""

    sha256: str
    path: str
    width: int
    height: int
    format: str
    bytes: int
    is_thumbnail: bool
    fetched_url: str
    attempts: int
    reason: str | None = None


class Manifest:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / COLLECTION
        self.db = sqlite.connect(self.path)
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Manifest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reconcile(self) -> dict[str, int]:
        """Make rows agree with raw/ after a crash; returns what was changed.

        A `writing` row whose file exists completed its rename: it becomes `ok`.
        A `writing` or `ok` row whose file is missing is handled again (`pending`).
        """
        fixed = {"completed": 0, "requeued": 0}
        rows = self.db.execute(
            "SELECT id, path, status FROM candidates WHERE status IN ('writing', 'ok')"
        ).fetchall()
        with self.transaction():
            for row in rows:
                exists = row["path"] is not None and (self.data_dir / row["path"]).is_file()
                if row["status"] == "writing" and exists:
                    self._set(row["id"], status="ok")
                    fixed["completed"] += 1
                elif not exists:
                    self.db.execute(
                        "UPDATE candidates SET status='pending', sha256=NULL, path=NULL, width=NULL,"
                        " height=NULL, format=NULL, bytes=NULL, is_thumbnail=0, updated_at=?"
                        " WHERE id=?",
                        (_now(), row["id"]),
                    )
                    fixed["requeued"] += 1
        return fixed

    def transaction(self) -> AbstractContextManager[None]:
        return sqlite.transaction(self.db)

    def has_images(self, label: str, query: str) -> bool:
        """Whether a candidate of this query and label is in raw/ (stored, or the same bytes as one)."""
        row = self.db.execute(
            "SELECT 1 FROM candidates WHERE label=? AND query=? AND status IN ('ok', 'duplicate') LIMIT 1",
            (label, query),
        ).fetchone()
        return row is not None

    def add(self, query: str, label: str, engine: str, rank: int, candidate: Candidate) -> Row | None:
        """Record a newly found candidate as pending; None if this label already has the URL."""
        now = _now()
        c = candidate
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO candidates (query, label, engine, rank, url, page_url, title,"
            " thumb_url, status, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,'pending',?,?)",
            (query, label, engine, rank, c.url, c.page_url, c.title, c.thumb_url, now, now),
        )
        if cursor.rowcount == 0:
            return None
        return Row(
            cursor.lastrowid or 0,
            query,
            label,
            engine,
            rank,
            c.url,
            c.page_url,
            c.title,
            c.thumb_url,
            "pending",
        )

    def unfinished(self, label: str, query: str, include_failed: bool = False) -> Iterator[Row]:
        """Rows an earlier run found but did not finish (and, if asked, the failed ones)."""
        statuses = ("pending", "failed") if include_failed else ("pending",)
        marks = ",".join("?" * len(statuses))
        for r in self.db.execute(
            f"SELECT * FROM candidates WHERE label=? AND query=? AND status IN ({marks}) ORDER BY rank, id",
            (label, query, *statuses),
        ).fetchall():
            yield Row(
                r["id"],
                r["query"],
                r["label"],
                r["engine"],
                r["rank"],
                r["url"],
                r["page_url"],
                r["title"],
                r["thumb_url"],
                r["status"],
            )

    def holder_of(self, label: str, sha256: str) -> sqlite3.Row | None:
        """The row that already stores these bytes under this label."""
        return self.db.execute(
            "SELECT url, path FROM candidates WHERE label=? AND sha256=? AND status IN ('ok','writing')"
            " LIMIT 1",
            (label, sha256),
        ).fetchone()

    def _set(self, row_id: int, **fields: object) -> None:
        fields["updated_at"] = _now()
        names = ", ".join(f"{k}=?" for k in fields)
        self.db.execute(f"UPDATE candidates SET {names} WHERE id=?", (*fields.values(), row_id))

    def finish(self, row_id: int, status: str, reason: str | None, attempts: int) -> None:
        self._set(row_id, status=status, reason=reason, attempts=attempts)

    def store(self, row_id: int, status: str, stored: Stored) -> None:
        """Record a file's facts with `status` (`writing` before the rename, `duplicate`)."""
        self._set(
            row_id,
            status=status,
            reason=stored.reason,
            sha256=stored.sha256,
            path=stored.path,
            width=stored.width,
            height=stored.height,
            format=stored.format,
            bytes=stored.bytes,
            is_thumbnail=int(stored.is_thumbnail),
            fetched_url=stored.fetched_url,
            attempts=stored.attempts,
        )

    def mark_ok(self, row_id: int) -> None:
        self._set(row_id, status="ok")


def stored_images(data_dir: Path) -> list[sqlite3.Row]:
    """The images `collect` stored (status ok), oldest first, read-only: what curation takes in.

    Fields: path, label, sha256, url, page_url, query, engine, bytes.
    """
    source = data_dir / COLLECTION
    if not source.exists():
        return []
    db = sqlite.connect(source, read_only=True)
    try:
        return db.execute(
            "SELECT path, label, sha256, url, page_url, query, engine, bytes FROM candidates"
            " WHERE status='ok' ORDER BY id"
        ).fetchall()
    finally:
        db.close()
