"""The FiftyOne App launched by `curate review`, driven in real Chromium: a reviewer's
rejection made in the UI is honoured by `curate export`; the App listens where
FIFTYONE_DEFAULT_APP_ADDRESS says."""

from __future__ import annotations

import contextlib
import csv
import os
import re
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from collector.browser import LAUNCH_ARGS, locate
from tests.conftest import APP_LOAD_MS, curate_json, open_app_view, review_app
from tests.curation_data import make_tree

pytestmark = pytest.mark.browser


@pytest.fixture
def app(tmp_path, fiftyone_env):
    """The App on 127.0.0.2, loopback too, as FIFTYONE_DEFAULT_APP_ADDRESS asks (127.0.0.1, the
    default, is the demo test's: tests/test_loop.py)."""
    root = tmp_path / "tree"
    make_tree(root)
    data = tmp_path / "ws"
    curate_json("import", str(root), data=data)
    with review_app(data, {**fiftyone_env, "FIFTYONE_DEFAULT_APP_ADDRESS": "127.0.0.2"}) as url:
        yield data, url


def _tag(name: str) -> str:
    """A tile's chip for a sample tag: FiftyOne calls it tag-tags-<tag> when the App colours by
    field and tag-<tag> when it colours by value, as happysad's colour scheme has it."""
    return f':is([data-cy="tag-tags-{name}"], [data-cy="tag-{name}"])'


def _a_conflict_tile(page, address: str, shots: Path):
    """A tile of the conflicts view that shows its conflict tag. How many tiles the grid draws,
    and when, is the App's business: beside a busy test worker on the AVX2-only EPYC it drew 2
    of the 4 for 30 s, and once no tile showed its tags in 30 s; the view is then loaded again,
    and a third miss fails with what the App showed each time."""
    seen = []
    for _attempt in range(3):
        open_app_view(page, address, re.compile(r"^4 samples$"), shots)
        with contextlib.suppress(PlaywrightTimeout):  # FiftyOne's promotion popover, when it shows
            page.get_by_text("Dismiss", exact=True).click(timeout=8_000)
        show_tags = page.locator('[data-cy="checkbox-tags"]')  # sample tags on the tiles (kept on reload)
        if "Mui-checked" not in (show_tags.get_attribute("class") or ""):
            show_tags.click()
        tile = page.locator(f'[data-cy="looker"]:has({_tag("conflict")})').first
        try:
            tile.wait_for(timeout=APP_LOAD_MS)
            return tile
        except PlaywrightTimeout:
            seen.append(page.inner_text("body")[:1000])
            page.screenshot(path=str(shots / f"app-no-tags-{len(seen)}.png"))
    raise AssertionError(f"no tile of the conflicts view showed its tags; the App showed: {seen}")


def _select(page, tile, shots: Path) -> None:
    """Tick the tile's selection box, which the App shows only while the pointer is over the
    tile. The grid can lay itself out again under a still pointer: once, in a fresh clone run as
    CI runs it on the AMX Xeon, the box stayed hidden for 30 s after one hover. So the pointer
    leaves and hovers again, each time with a screenshot of what the App showed."""
    box = tile.locator('[title="Click to select sample, Shift+Click to select a range"]')
    for attempt in range(4):
        tile.hover()
        try:
            box.click(timeout=10_000)
            return
        except PlaywrightTimeout:
            page.screenshot(path=str(shots / f"app-no-select-box-{attempt}.png"))
            page.mouse.move(0, 0)
    raise AssertionError(f"the tile's selection box never showed under the pointer (screenshots in {shots})")


def test_the_app_listens_where_asked_and_a_rejection_in_it_is_honoured_by_export(app, fiftyone_env):
    data, url = app
    port = urlsplit(url).port
    assert urlsplit(url).hostname == "127.0.0.2"
    with pytest.raises(OSError):  # and not on 127.0.0.1
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    os.environ.update(fiftyone_env)
    from curation.database import fiftyone
    from curation.review import dataset_name

    name = dataset_name(data)
    before = curate_json("export", data=data, env=fiftyone_env)["exported"]
    executable = locate()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        tile = _a_conflict_tile(page, f"{url}/datasets/{name}?view=conflicts", Path(data))
        _select(page, tile, Path(data))
        page.locator('[data-cy="action-tag-sample-labels"]').click()
        tag_input = page.locator('[data-cy="sample-tag-input"]')
        tag_input.fill("reject")
        tag_input.press("Enter")
        apply = page.get_by_text("Apply", exact=True)
        if apply.count():
            apply.first.click()
        page.locator(_tag("reject")).first.wait_for(timeout=30_000)
        page.screenshot(path=str(Path(data) / "app.png"))
        browser.close()

    dataset = fiftyone().load_dataset(name)
    assert len(dataset.load_saved_view("conflicts").match_tags("conflict")) == 4
    rejected = dataset.match_tags("reject")
    assert len(rejected) == 1
    gone, group = rejected.first(), rejected.first()["group_id"]
    assert "conflict" in gone.tags, f"the App rejected {gone.filepath}, which is in no conflict"
    partner = dataset.match({"group_id": group, "tags": {"$ne": "reject"}}).first()
    report = curate_json("export", data=data, env=fiftyone_env)
    with (data / "curated" / "manifest.csv").open() as handle:
        exported = {(r["sha256"], r["label"]) for r in csv.DictReader(handle)}
    # (sha, label): an exact copy filed under the other label has the same bytes
    assert (gone["sha256"], gone.ground_truth.label) not in exported
    assert (partner["sha256"], partner.ground_truth.label) in exported  # its conflict is resolved
    assert report["exported"] == before + 1
    assert report["left_out"]["rejected in review"] == 1
