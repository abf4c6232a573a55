"""Bing Images: `a.iusc` tiles carry the full-size URL in their `m` JSON; scroll for more."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from urllib.parse import urlencode

from playwright.async_api import BrowserContext, Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from collector.engines.base import Candidate, Engine

# Bing wraps matched words of titles in private-use characters.
_HIGHLIGHT = str.maketrans("", "", "\ue000\ue001")


def parse_tile(meta: str | None) -> Candidate | None:
    """Read one tile's `m` attribute (already unescaped by the DOM)."""
    try:
        data = json.loads(meta or "")
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not data.get("murl"):
        return None
    title = data.get("t")
    return Candidate(
        url=data["murl"],
        thumb_url=data.get("turl") or None,
        page_url=data.get("purl") or None,
        title=title.translate(_HIGHLIGHT) if isinstance(title, str) else None,
    )


class Bing(Engine):
    name = "bing"
    default_endpoint = "https://www.bing.com/images/search"
    wait_ms = 2_500

    async def search(self, context: BrowserContext, query: str) -> AsyncIterator[Candidate]:
        page = await self.open(context, f"{self.endpoint}?{urlencode({'q': query, 'form': 'HDRSC2'})}")
        seen = 0
        while True:
            metas = await page.eval_on_selector_all("a.iusc", "els => els.map(e => e.getAttribute('m'))")
            for meta in metas[seen:]:
                candidate = parse_tile(meta)
                if candidate is not None:
                    yield candidate
            seen = len(metas)
            if not await self._load_more(page, seen):
                return

    async def _load_more(self, page: Page, count: int) -> bool:
        """Click "See more images" when it shows, else scroll to the bottom; wait for new tiles."""
        grew = "n => document.querySelectorAll('a.iusc').length > n"
        more = page.locator(".btn_seemore")
        for _ in range(2):
            if await more.count() and await more.first.is_visible():
                await more.first.click()
            else:
                await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
            try:
                await page.wait_for_function(grew, arg=count, timeout=self.wait_ms)
                return True
            except PlaywrightTimeout:
                continue
        return False
