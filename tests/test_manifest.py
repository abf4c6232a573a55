"""After a kill the manifest is made to agree with raw/ when it is next opened."""

from __future__ import annotations

from pathlib import Path

from collector.manifest import Manifest, Stored
from collector.store import RawStore


def _stored(path: str) -> Stored:
    return Stored("ab" * 32, path, 10, 10, "JPEG", 3, False, "http://x/a.jpg", 1)


def _add(m: Manifest, url: str) -> int:
    row = m.add(
        query="q", label="happy", engine="bing", rank=1, url=url, page_url=None, title=None, thumb_url=None
    )
    assert row is not None
    return row.id


def test_reconcile_completes_or_requeues_interrupted_writes(tmp_path: Path):
    store = RawStore(tmp_path)
    with Manifest(tmp_path) as m:
        renamed, not_renamed = _add(m, "http://x/1.jpg"), _add(m, "http://x/2.jpg")
        m.store(renamed, "writing", _stored("raw/happy/aaaa.jpg"))
        store.publish(store.stage(b"abc"), "raw/happy/aaaa.jpg")
        m.store(not_renamed, "writing", _stored("raw/happy/bbbb.jpg"))
        assert m.reconcile() == {"completed": 1, "requeued": 1}
        assert m.status_of("happy", "http://x/1.jpg") == "ok"
        assert m.status_of("happy", "http://x/2.jpg") == "pending"
        assert [r.url for r in m.unfinished("happy", "q")] == ["http://x/2.jpg"]


def test_same_url_is_recorded_once_per_label(tmp_path: Path):
    with Manifest(tmp_path) as m:
        assert m.add(
            query="q",
            label="happy",
            engine="bing",
            rank=1,
            url="u",
            page_url=None,
            title=None,
            thumb_url=None,
        )
        assert (
            m.add(
                query="q2",
                label="happy",
                engine="bing",
                rank=1,
                url="u",
                page_url=None,
                title=None,
                thumb_url=None,
            )
            is None
        )
        assert m.add(
            query="q", label="sad", engine="bing", rank=1, url="u", page_url=None, title=None, thumb_url=None
        )


def test_staging_never_touches_raw(tmp_path: Path):
    store = RawStore(tmp_path)
    store.stage(b"partial")
    (tmp_path / "raw" / "happy").mkdir(parents=True)
    (tmp_path / "raw" / "happy" / "keep.jpg").write_bytes(b"x")
    assert store.clear_staging() == 1
    assert (tmp_path / "raw" / "happy" / "keep.jpg").read_bytes() == b"x"
