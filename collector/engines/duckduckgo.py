"""DuckDuckGo Images: a `vqd` token from the results page, then the `i.js` JSON API."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import urlencode

from playwright.async_api import BrowserContext

from collector.engines.base import Candidate, Engine
from collector.errors import EngineBlocked, EngineError

_VQD = re.compile(r"""vqd\s*[=:]\s*["']?([0-9A-Za-z_-]+)""")


class DuckDuckGo(Engine):
    name = "duckduckgo"
    default_endpoint = "https://duckduckgo.com"
    max_pages = 50

    def __init__(self, endpoint: str | None = None) -> None:
        super().__init__(endpoint)
        self.endpoint = self.endpoint.rstrip("/")

    async def search(self, context: BrowserContext, query: str) -> AsyncIterator[Candidate]:
        page = await self.open(
            context, f"{self.endpoint}/?{urlencode({'q': query, 'iax': 'images', 'ia': 'images'})}"
        )
        match = _VQD.search(await page.content())
        if match is None:
            raise EngineError("duckduckgo: no vqd token on the results page (markup changed?)")
        vqd = match.group(1)
        path = "i.js?" + urlencode(
            {"l": "us-en", "o": "json", "q": query, "vqd": vqd, "f": ",,,,,", "p": "1"}
        )
        for _ in range(self.max_pages):
            response = await context.request.get(
                f"{self.endpoint}/{path}", headers={"Referer": f"{self.endpoint}/"}
            )
            if response.status in (403, 418, 429):
                raise EngineBlocked(f"duckduckgo refused the image API (HTTP {response.status}); try later")
            if not response.ok:
                raise EngineError(f"duckduckgo: i.js answered HTTP {response.status}")
            try:
                data = await response.json()
            except ValueError as exc:
                raise EngineError("duckduckgo: i.js did not answer JSON") from exc
            for item in data.get("results", []):
                if item.get("image"):
                    yield Candidate(
                        url=item["image"],
                        thumb_url=item.get("thumbnail") or None,
                        page_url=item.get("url") or None,
                        title=item.get("title") or None,
                    )
            following = data.get("next")
            if not following:
                return
            path = following if "vqd=" in following else f"{following}&vqd={vqd}"
