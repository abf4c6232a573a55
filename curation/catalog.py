"""`curation.sqlite`: what curation knows about each image in the workspace.

One row per file under raw/ (collected or imported): its label and provenance, what
`scan` found, its hashes and its duplicate group. Human decisions do not live here but
in the FiftyOne dataset (see review.py); export joins the two.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from collector.manifest import stored_images
from curation.grouping import Group, Member
from curation.hashing import COLUMNS
from curation.quality import Verdict
from happysad.common import sqlite
from happysad.common.workspace import CURATION, DATASET_KEY
from happysad.faces.batch import Found
from happysad.faces.detectors import Face


# what `scan` found in one file: a row of the images table
@dataclass
class ScanResult:
    path: str
    format: str | None = None
    width: int | None = None
    height: int | None = None
    mode: str | None = None
    orientation: int | None = None
    frames: int | None = None
    bytes: int = 0
    flag: str | None = None
    reason: str | None = None
    hashes: dict[str, int] = field(default_factory=dict)
    quality: dict[str, float | str] | None = None  # curation.quality.measure's raw properties


SCHEMA = f"""
CREATE TABLE IF NOT EXISTS images (
    path TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    origin TEXT NOT NULL,
    source TEXT,
    page_url TEXT,
    query TEXT,
    engine TEXT,
    bytes INTEGER,
    scanned_at TEXT,
    format TEXT,
    width INTEGER,
    height INTEGER,
    mode TEXT,
    orientation INTEGER,
    frames INTEGER,
    flag TEXT,
    reason TEXT,
    {", ".join(f"{c} INTEGER" for c in COLUMNS)},
    group_id TEXT,
    role TEXT,
    conflict INTEGER NOT NULL DEFAULT 0,
    added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS face_scans (
    path TEXT PRIMARY KEY,
    detector TEXT NOT NULL,
    faces INTEGER NOT NULL,
    width INTEGER,
    height INTEGER,
    error TEXT,
    scanned_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS faces (
    path TEXT NOT NULL,
    idx INTEGER NOT NULL,
    x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL, h REAL NOT NULL,
    score REAL,
    PRIMARY KEY (path, idx)
);
CREATE TABLE IF NOT EXISTS quality (
    path TEXT PRIMARY KEY,
    measured TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS quality_issues (
    path TEXT NOT NULL,
    issue TEXT NOT NULL,
    score REAL NOT NULL,
    flagged INTEGER NOT NULL,
    PRIMARY KEY (path, issue)
);
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Catalog:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.db = sqlite.connect(data_dir / CURATION)
        self.db.executescript(SCHEMA)

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.db.close()

    def transaction(self) -> AbstractContextManager[None]:
        return sqlite.transaction(self.db)

    def add(self, path: str, label: str, sha256: str, origin: str, **provenance: object) -> bool:
        """Record a file once; returns False if it was already known."""
        fields = {
            "path": path,
            "label": label,
            "sha256": sha256,
            "origin": origin,
            "added_at": _now(),
            **provenance,
        }
        cursor = self.db.execute(
            f"INSERT OR IGNORE INTO images ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})",
            tuple(fields.values()),
        )
        return cursor.rowcount == 1

    def sync_collection(self) -> int:
        """Pick up images `collect` stored (manifest rows with status ok); returns how many are new."""
        rows = stored_images(self.data_dir)
        added = 0
        with self.transaction():
            for r in rows:
                added += self.add(
                    r["path"],
                    r["label"],
                    r["sha256"],
                    "collect",
                    source=r["url"],
                    page_url=r["page_url"],
                    query=r["query"],
                    engine=r["engine"],
                    bytes=r["bytes"],
                )
        return added

    def unscanned(self) -> list[str]:
        return [
            r[0] for r in self.db.execute("SELECT path FROM images WHERE scanned_at IS NULL ORDER BY path")
        ]

    def save_scan(self, results: list[ScanResult]) -> None:
        now = _now()
        with self.transaction():
            for r in results:
                hashes = [r.hashes.get(c) for c in COLUMNS]
                self.db.execute(
                    f"UPDATE images SET scanned_at=?, format=?, width=?, height=?, mode=?, orientation=?,"
                    f" frames=?, bytes=?, flag=?, reason=?, {', '.join(f'{c}=?' for c in COLUMNS)}"
                    " WHERE path=?",
                    (
                        now,
                        r.format,
                        r.width,
                        r.height,
                        r.mode,
                        r.orientation,
                        r.frames,
                        r.bytes,
                        r.flag,
                        r.reason,
                        *hashes,
                        r.path,
                    ),
                )
        self.save_measured({r.path: r.quality for r in results if r.quality is not None})

    def unmeasured(self) -> list[str]:
        """Decoded, unflagged images without quality properties (scanned by an older version)."""
        return [
            r[0]
            for r in self.db.execute(
                "SELECT path FROM images WHERE scanned_at IS NOT NULL AND flag IS NULL"
                " AND path NOT IN (SELECT path FROM quality) ORDER BY path"
            )
        ]

    def save_measured(self, measured: dict[str, dict[str, float | str]]) -> None:
        with self.transaction():
            self.db.executemany(
                "INSERT OR REPLACE INTO quality VALUES (?, ?)",
                [(path, json.dumps(values, sort_keys=True)) for path, values in measured.items()],
            )

    def measured(self) -> dict[str, dict[str, float | str]]:
        """path → its quality properties, for the decoded, unflagged images."""
        rows = self.db.execute(
            "SELECT q.path, q.measured FROM quality q JOIN images i ON i.path = q.path WHERE i.flag IS NULL"
        )
        return {path: json.loads(text) for path, text in rows}

    def save_verdicts(self, verdicts: dict[str, list[Verdict]]) -> None:
        """The workspace's quality issues, all of them anew (odd_size moves with the workspace)."""
        with self.transaction():
            self.db.execute("DELETE FROM quality_issues")
            self.db.executemany(
                "INSERT INTO quality_issues VALUES (?, ?, ?, ?)",
                [(path, v.issue, v.score, int(v.flagged)) for path, found in verdicts.items() for v in found],
            )

    def verdicts(self) -> dict[str, list[Verdict]]:
        """path → its quality verdicts (scores and flags)."""
        out: dict[str, list[Verdict]] = {}
        for path, issue, score, flagged in self.db.execute("SELECT * FROM quality_issues ORDER BY path"):
            out.setdefault(path, []).append(Verdict(issue, score, bool(flagged)))
        return out

    def members(self) -> list[Member]:
        """Scanned images that decoded (they have hashes), for grouping."""
        return [
            Member(
                r["path"],
                r["label"],
                r["sha256"],
                r["width"],
                r["height"],
                r["bytes"] or 0,
                r["flag"],
                (r["phash_full"], r["phash_centre"]),
                (r["dhash_full"],),
            )
            for r in self.db.execute("SELECT * FROM images WHERE phash_full IS NOT NULL ORDER BY path")
        ]

    def save_groups(self, groups: list[Group]) -> None:
        with self.transaction():
            self.db.execute("UPDATE images SET group_id=NULL, role=NULL, conflict=0")
            for g in groups:
                for path in g.members:
                    self.db.execute(
                        "UPDATE images SET group_id=?, role=?, conflict=? WHERE path=?",
                        (g.id, g.roles[path], int(g.conflict), path),
                    )

    def set_conflicts(self, conflicted: set[str]) -> None:
        """Record which groups are still in conflict once reviewers' decisions are counted."""
        with self.transaction():
            self.db.execute("UPDATE images SET conflict=0")
            for group_id in conflicted:
                self.db.execute("UPDATE images SET conflict=1 WHERE group_id=?", (group_id,))

    def face_scanned(self, detector: str) -> set[str]:
        """Paths already searched for faces with this detector setting (a resumed run skips them)."""
        rows = self.db.execute("SELECT path FROM face_scans WHERE detector=?", (detector,))
        return {r[0] for r in rows}

    def save_faces(self, detector: str, found: Iterable[tuple[str, Found]]) -> None:
        now = _now()
        with self.transaction():
            for path, f in found:
                self.db.execute("DELETE FROM faces WHERE path=?", (path,))
                self.db.execute(
                    "INSERT OR REPLACE INTO face_scans VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (path, detector, len(f.faces), f.width, f.height, f.error, now),
                )
                self.db.executemany(
                    "INSERT INTO faces VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(path, i, face.x, face.y, face.w, face.h, face.score) for i, face in enumerate(f.faces)],
                )

    def face_setting(self) -> str | None:
        """The detector setting of the newest face search."""
        row = self.db.execute("SELECT detector FROM face_scans ORDER BY scanned_at DESC LIMIT 1").fetchone()
        return row[0] if row else None

    def faces(self) -> dict[str, list[Face]]:
        """path → its faces, for every image searched (an empty list: searched, none found)."""
        out: dict[str, list[Face]] = {
            r[0]: [] for r in self.db.execute("SELECT path FROM face_scans WHERE error IS NULL")
        }
        for r in self.db.execute("SELECT path, x, y, w, h, score FROM faces ORDER BY path, idx"):
            out.setdefault(r[0], []).append(Face(*r[1:]))
        return out

    def rows(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM images ORDER BY path").fetchall()

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def status(self) -> dict[str, object]:
        one = self.db.execute
        return {
            "images": one("SELECT COUNT(*) FROM images").fetchone()[0],
            "unscanned": one("SELECT COUNT(*) FROM images WHERE scanned_at IS NULL").fetchone()[0],
            "labels": dict(
                one("SELECT label, COUNT(*) FROM images GROUP BY label ORDER BY label").fetchall()
            ),
            "flags": dict(
                one("SELECT flag, COUNT(*) FROM images WHERE flag IS NOT NULL GROUP BY flag").fetchall()
            ),
            "groups": one(
                "SELECT COUNT(DISTINCT group_id) FROM images WHERE group_id IS NOT NULL"
            ).fetchone()[0],
            "conflicts": one("SELECT COUNT(DISTINCT group_id) FROM images WHERE conflict=1").fetchone()[0],
            "pending_review": one(
                "SELECT COUNT(*) FROM images WHERE flag IS NOT NULL OR conflict=1"
            ).fetchone()[0],
            "searched_for_faces": one("SELECT COUNT(*) FROM face_scans").fetchone()[0],
            "no_face": one("SELECT COUNT(*) FROM face_scans WHERE faces=0 AND error IS NULL").fetchone()[0],
            "quality": dict(
                one("SELECT issue, COUNT(*) FROM quality_issues WHERE flagged=1 GROUP BY issue").fetchall()
            ),
            "dataset": self.get_meta(DATASET_KEY),
        }
