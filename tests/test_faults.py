"""Every fault of the image host, its outcome in the manifest and on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import LiveSite, by_url, raw_files, run_collect, run_json
from tests.fixture_site import noise_jpeg

pytestmark = pytest.mark.browser
MAX_BYTES = 200_000


@pytest.fixture(scope="module")
def faults(live: LiveSite, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict, Path]:
    assert len(noise_jpeg()) > MAX_BYTES
    data = tmp_path_factory.mktemp("faults")
    summary = run_json(
        "faults",
        "--engine",
        "page",
        "--endpoint",
        f"{live.url}/faults.html",
        "--max-bytes",
        str(MAX_BYTES),
        "--retries",
        "2",
        data=data,
    )
    return summary, {url.removeprefix(live.url): row for url, row in by_url(data).items()}, data


@pytest.mark.parametrize(
    ("path", "status", "reason"),
    [
        ("/missing.jpg?alone", "failed", "http 404"),
        ("/html.jpg", "filtered", "html page, not an image"),
        ("/truncated.jpg", "filtered", "corrupt image"),
        ("/logo.svg", "filtered", "svg, not a raster image"),
        ("/bomb.png", "filtered", "decompression bomb"),
        ("/loop-a.jpg", "failed", "redirect loop"),
        ("/private/secret.jpg", "filtered", "disallowed by robots.txt"),
        ("/noai.jpg", "filtered", "X-Robots-Tag: noai"),
        ("/huge.jpg", "filtered", "too large"),
        ("/tiny.png", "filtered", "too small"),
    ],
)
def test_fault_is_recorded_and_nothing_is_stored(faults, path: str, status: str, reason: str):
    _, rows, _ = faults
    row = rows[path]
    assert row["status"] == status
    assert row["reason"].startswith(reason)
    assert row["path"] is None and row["sha256"] is None


def test_failed_and_filtered_rows_record_the_requests_they_took(faults):
    _, rows, _ = faults
    assert rows["/private/secret.jpg"]["attempts"] == 0  # robots.txt said no before any request
    assert rows["/missing.jpg?alone"]["attempts"] == 1  # a 404 is not retried
    assert rows["/html.jpg"]["attempts"] == 1  # fetched once, then found to be no image


def test_thumbnail_is_used_when_the_full_image_fails(faults):
    _, rows, data = faults
    row = rows["/missing.jpg"]
    assert row["status"] == "ok" and row["is_thumbnail"] == 1
    assert row["thumb_url"].endswith("/img/ok-801.jpg")
    assert row["fetched_url"].endswith("/img/ok-801.jpg")
    assert "full image: http 404" in row["reason"]
    assert (data / row["path"]).is_file()


def test_same_bytes_under_three_urls_are_stored_once(faults):
    _, rows, data = faults
    same = [rows[p] for p in ("/same-a.jpg", "/same-b.jpg", "/same-c.jpg")]
    assert sorted(r["status"] for r in same) == ["duplicate", "duplicate", "ok"]
    assert len({r["sha256"] for r in same}) == 1 and len({r["path"] for r in same}) == 1
    assert sum(1 for f in raw_files(data) if f.name == Path(same[0]["path"]).name) == 1


def test_retry_after_is_honoured(faults, live: LiveSite):
    _, rows, _ = faults
    row = rows["/ratelimited.jpg"]
    assert row["status"] == "ok" and row["attempts"] == 2
    first, second = live.site.times["/ratelimited.jpg"][:2]
    assert second - first >= 0.95


def test_server_errors_are_retried(faults):
    _, rows, _ = faults
    assert rows["/flaky.jpg"]["status"] == "ok" and rows["/flaky.jpg"]["attempts"] == 2


def test_redirects_are_followed_and_recorded(faults):
    _, rows, _ = faults
    row = rows["/redirected.jpg"]
    assert row["status"] == "ok" and row["fetched_url"].endswith("/img/ok-901.jpg")


def test_everything_in_raw_is_a_whole_image_named_by_its_hash(faults):
    summary, rows, data = faults
    files = raw_files(data)
    assert len(files) == summary["ok"] == sum(r["status"] == "ok" for r in rows.values())
    for f in files:
        with Image.open(f) as img:
            img.load()
        assert f.parent.name == "faults" and len(f.stem) == 16
    assert summary["reasons"]["duplicate"] == 2


def test_slow_host_times_out(live: LiveSite, tmp_path: Path):
    result = run_collect(
        "slow",
        "--engine",
        "page",
        "--endpoint",
        f"{live.url}/show?full=/slow.jpg",
        "--timeout",
        "0.5",
        "--retries",
        "0",
        "--json",
        data=tmp_path,
    )
    assert result.returncode == 1 and "timeout; --timeout lifts it" in result.stderr  # nothing stored
    assert by_url(tmp_path)[f"{live.url}/slow.jpg"]["reason"] == "timeout"
    assert raw_files(tmp_path) == []


def test_ignore_robots_opts_out_of_robots_and_noai(live: LiveSite, tmp_path: Path):
    summary = run_json(
        "private",
        "--engine",
        "page",
        "--ignore-robots",
        "--endpoint",
        f"{live.url}/show?full=/private/secret.jpg",
        data=tmp_path,
    )
    assert summary["ok"] == 1
