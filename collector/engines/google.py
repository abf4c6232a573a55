"""Google Images, best effort: its markup changes often and it blocks automation.

A consent wall, a captcha or a `/sorry/` redirect is reported as EngineBlocked in one
line; results are read from the `["url",height,width]` arrays Google embeds in scripts.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from urllib.parse import urlencode, urlsplit

from playwright.async_api import BrowserContext, Page

from collector.engines.base import Candidate, Engine
from collector.errors import EngineBlocked, EngineError

_TRIPLE = re.compile(r'\["(https?://[^"]+)",(\d+),(\d+)\]')
_THUMB_HOSTS = ("encrypted-tbn", "gstatic.com")


def _unescape(url: str) -> str:
    try:
        return json.loads(f'"{url}"')
    except json.JSONDecodeError:
        return url


def parse_results(text: str) -> list[Candidate]:
    """Pair each thumbnail array with the full-size array that follows it."""
    out: list[Candidate] = []
    thumb: str | None = None
    for match in _TRIPLE.finditer(text):
        url = _unescape(match.group(1))
        if any(host in urlsplit(url).netloc for host in _THUMB_HOSTS):
            thumb = url
        elif thumb is not None:
            out.append(Candidate(url=url, thumb_url=thumb))
            thumb = None
    return out


async def blocked_reason(page: Page) -> str | None:
    """Say why Google is not showing results, or None if it is."""
    parts = urlsplit(page.url)
    if "/sorry/" in parts.path:
        return "google redirected to its /sorry/ page (unusual traffic from this address)"
    if parts.netloc.startswith("consent.") or parts.path.startswith("/consent"):
        return "google showed a cookie-consent wall"
    if await page.locator("form[action*='consent']").count():
        return "google showed a cookie-consent wall"
    if await page.locator("#captcha-form, iframe[src*='recaptcha'], div.g-recaptcha").count():
        return "google asked for a captcha"
    return None


class Google(Engine):
    name = "google"
    default_endpoint = "https://www.google.com/search"
    scrolls = 5

    async def search(self, context: BrowserContext, query: str) -> AsyncIterator[Candidate]:
        url = f"{self.endpoint}?{urlencode({'q': query, 'tbm': 'isch', 'udm': '2', 'hl': 'en'})}"
        page = await self.open(context, url, strict=False)
        reason = await blocked_reason(page)
        if reason:
            raise EngineBlocked(f"{reason}; try --engine bing or duckduckgo")
        seen: set[str] = set()
        for _ in range(self.scrolls):
            fresh = [c for c in parse_results(await page.content()) if c.url not in seen]
            if not fresh and not seen:
                raise EngineError("google: no image results could be read from the page (markup changed?)")
            if not fresh:
                return
            for candidate in fresh:
                seen.add(candidate.url)
                yield candidate
            await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
            await page.wait_for_timeout(1_000)
