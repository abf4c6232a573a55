"""Each engine against a loopback copy of its markup, in real headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LiveSite, by_url, raw_files, rows, run_collect, run_json

pytestmark = pytest.mark.browser


def test_bing_scrolls_and_clicks_see_more_until_the_limit(live: LiveSite, tmp_path: Path):
    # 20 tiles a page, two pages by scrolling, then only "See more images" loads more:
    # 70 images can only be reached by scrolling and clicking.
    summary = run_json(
        "happy people",
        "--label",
        "happy",
        "--limit",
        "70",
        "--endpoint",
        f"{live.url}/images/search",
        data=tmp_path,
    )
    assert summary["ok"] == 70
    assert summary["found"] >= 70
    assert live.site.hits["/images/async"] >= 3
    ok = [r for r in rows(tmp_path) if r["status"] == "ok"]
    assert len(ok) == 70 == len(raw_files(tmp_path / ""))
    first = next(r for r in ok if r["rank"] == 1)
    assert first["url"] == f"{live.url}/img/ok-0.jpg"
    assert first["thumb_url"] == f"{live.url}/img/ok-5000.jpg"
    assert first["page_url"] == f"{live.url}/p/0"
    assert first["title"] == "happy people 0"
    assert (first["query"], first["engine"], first["is_thumbnail"]) == ("happy people", "bing", 0)
    assert (first["width"], first["height"], first["format"]) == (200, 150, "JPEG")
    assert (tmp_path / first["path"]).is_file()
    assert first["path"] == f"raw/happy/{first['sha256'][:16]}.jpg"


def test_bing_stops_when_results_run_out(live: LiveSite, tmp_path: Path):
    summary = run_json(
        "everything", "--limit", "500", "--endpoint", f"{live.url}/images/search", data=tmp_path
    )
    assert summary["found"] == 130
    assert summary["ok"] == 130
    assert summary["label"] == "everything"


def test_duckduckgo_vqd_then_paged_json_api(live: LiveSite, tmp_path: Path):
    summary = run_json(
        "happy people",
        "--engine",
        "duckduckgo",
        "--endpoint",
        f"{live.url}/ddg",
        "--limit",
        "100",
        data=tmp_path,
    )
    assert summary["found"] == 25  # three pages via `next`
    assert summary["ok"] == 25
    row = by_url(tmp_path)[f"{live.url}/img/ok-2000.jpg"]
    assert row["thumb_url"] == f"{live.url}/img/ok-7000.jpg"
    assert row["page_url"] == f"{live.url}/article/0"
    assert row["title"] == "duck 0"


def test_google_results_are_read_best_effort(live: LiveSite, tmp_path: Path):
    summary = run_json(
        "happy people",
        "--engine",
        "google",
        "--endpoint",
        f"{live.url}/google/search",
        "--limit",
        "5",
        data=tmp_path,
    )
    assert summary["ok"] == 5
    row = by_url(tmp_path)[f"{live.url}/img/ok-3000.jpg"]
    assert row["thumb_url"] == "https://encrypted-tbn0.gstatic.com/images?q=tbn:0"


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/gconsent/search", "consent wall"),
        ("/gsorry/search", "/sorry/"),
        ("/gcaptcha/search", "captcha"),
        ("/gempty/search", "no image results"),
    ],
)
def test_google_blocks_are_one_clear_line(live: LiveSite, tmp_path: Path, path: str, words: str):
    result = run_collect(
        "happy people", "--engine", "google", "--endpoint", f"{live.url}{path}", data=tmp_path
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and lines[0].startswith("collect: error:")
    assert "Traceback" not in result.stderr


def _gallery(live: LiveSite) -> tuple[str, ...]:
    """`collect gallery` with the page engine on the fixture site's page of every embedding style."""
    return ("gallery", "--engine", "page", "--endpoint", f"{live.url}/gallery.html")


def test_page_finds_every_embedding_style(live: LiveSite, tmp_path: Path):
    before = dict(live.site.hits)
    summary = run_json(*_gallery(live), "--limit", "100", data=tmp_path)
    found = {url.rsplit("/", 1)[1] for url in by_url(tmp_path)}
    expected = {
        "ok-101.jpg",  # og:image
        "ok-102.jpg",  # CSS background-image
        "ok-103.jpg",  # plain img src
        "ok-104.jpg",  # largest srcset candidate (not the smaller ones)
        "ok-105.jpg",  # data-src
        "ok-106.jpg",  # data-lazy-src
        "ok-207.jpg",  # picture > source, largest
        "ok-108.jpg",  # link to an image file
        "ok-109.jpg",  # appended only after scrolling to the bottom
    }
    assert expected <= found
    assert not {"ok-5204.jpg", "ok-5304.jpg", "about.html"} & found
    srcset = by_url(tmp_path)[f"{live.url}/img/ok-104.jpg"]
    assert srcset["thumb_url"] == f"{live.url}/img/ok-5104.jpg"
    assert srcset["page_url"] == f"{live.url}/gallery.html"
    assert summary["ok"] == len(found) - summary["failed"] - summary["filtered"]
    # Chromium loads no image while reading the page: the downloader fetches each one once
    fetched = {path: n - before.get(path, 0) for path, n in live.site.hits.items()}
    assert all(fetched.get(f"/img/{name}") == 1 for name in expected), fetched
    assert fetched.get("/img/ok-5204.jpg", 0) == fetched.get("/img/ok-5104.jpg", 0) == 0


def test_chromium_gives_up_its_sandbox_only_as_root():
    import os

    from collector.browser import LAUNCH_ARGS

    assert ("--no-sandbox" in LAUNCH_ARGS) == (os.geteuid() == 0)


@pytest.mark.parametrize(
    ("srcset", "largest"),
    [("a.jpg 400w, b.jpg 1200w, c.jpg 800w", "b.jpg"), ("a.jpg 1x, b.jpg 2x", "b.jpg"), ("a.jpg 2x, b.jpg", "a.jpg"),
     ("a.jpg huge, b.jpg 10w", "b.jpg"), ("solo.jpg", "solo.jpg"), ("", None), (None, None)],
)  # fmt: skip
def test_the_largest_srcset_entry_wins(srcset, largest):
    from collector.engines import page

    assert page.largest(srcset) == largest


def test_the_served_html_names_what_needs_no_rendering():
    """The page engine's first read, without a browser: every embedding style in the HTML as
    served; CSS backgrounds and images added by scripts are left to Chromium."""
    from collector.engines.page import candidates, served_records
    from tests.fixture_site import GALLERY

    url = "http://127.0.0.1:8000/gallery.html"
    base, records = served_records(GALLERY.encode(), url)
    assert base == url
    found = {c.url.rsplit("/", 1)[1]: c for c in candidates(records, base, url)}
    assert {
        "ok-101.jpg",
        "ok-103.jpg",
        "ok-104.jpg",
        "ok-105.jpg",
        "ok-106.jpg",
        "ok-207.jpg",
        "ok-108.jpg",
    } <= set(found)
    assert not {"ok-102.jpg", "ok-109.jpg", "ok-5204.jpg", "ok-5304.jpg", "about.html"} & set(found)
    assert found["ok-104.jpg"].thumb_url == "http://127.0.0.1:8000/img/ok-5104.jpg"
    assert found["ok-108.jpg"].title == "full size" and found["ok-103.jpg"].page_url == url
    page = (
        b'<base href="https://cdn.example/p/"><base href="/ignored/"><img src="x.jpg"><source srcset="y.jpg">'
    )
    base, records = served_records(page, url)
    assert [c.url for c in candidates(records, base, url)] == ["https://cdn.example/p/x.jpg"]


def test_a_page_whose_html_names_enough_images_never_starts_the_browser(live: LiveSite, tmp_path: Path):
    no_browser = ("--browser-path", "/nonexistent/chromium")
    summary = run_json(*_gallery(live), "--limit", "3", *no_browser, data=tmp_path)
    assert summary["ok"] == 3 and summary["error"] is None
    wanting_more = run_collect(*_gallery(live), "--limit", "50", *no_browser, data=tmp_path)
    assert wanting_more.returncode == 1 and "browser not found" in wanting_more.stderr
