"""After a kill the manifest is made to agree with raw/ when it is next opened."""

from __future__ import annotations

from pathlib import Path

from collector.engines.base import Candidate
from collector.manifest import Manifest, Stored
from collector.store import RawStore


def _stored(path: str) -> Stored:
    return Stored("ab" * 32, path, 10, 10, "JPEG", 3, False, "http://x/a.jpg", 1)


def _add(m: Manifest, url: str, label: str = "happy") -> int | None:
    row = m.add("q", label, "bing", 1, Candidate(url))
    return row.id if row else None


def test_reconcile_completes_or_requeues_interrupted_writes(tmp_path: Path):
    store = RawStore(tmp_path)
    with Manifest(tmp_path) as m:
        renamed, not_renamed = _add(m, "http://x/1.jpg"), _add(m, "http://x/2.jpg")
        m.store(renamed, "writing", _stored("raw/happy/aaaa.jpg"))
        store.publish(store.stage(b"abc"), "raw/happy/aaaa.jpg")
        m.store(not_renamed, "writing", _stored("raw/happy/bbbb.jpg"))
        assert m.reconcile() == {"completed": 1, "requeued": 1}
        status = dict(m.db.execute("SELECT url, status FROM candidates WHERE label='happy'").fetchall())
        assert status == {"http://x/1.jpg": "ok", "http://x/2.jpg": "pending"}
        assert [r.url for r in m.unfinished("happy", "q")] == ["http://x/2.jpg"]


def test_same_url_is_recorded_once_per_label(tmp_path: Path):
    with Manifest(tmp_path) as m:
        assert _add(m, "u") is not None
        assert _add(m, "u") is None
        assert _add(m, "u", label="sad") is not None


def test_staging_never_touches_raw(tmp_path: Path):
    store = RawStore(tmp_path)
    store.stage(b"partial")
    (tmp_path / "raw" / "happy").mkdir(parents=True)
    (tmp_path / "raw" / "happy" / "keep.jpg").write_bytes(b"x")
    assert store.clear_staging() == 1
    assert (tmp_path / "raw" / "happy" / "keep.jpg").read_bytes() == b"x"
