"""Any web page: the "download all images" job, after scrolling so lazy images load."""

from __future__ import annotations

from collections.abc import AsyncIterator

from playwright.async_api import BrowserContext, Page

from collector.engines.base import Candidate, Engine
from collector.errors import EngineError

# Runs in the page; returns [{url, thumb, title}] in document order.
_COLLECT = r"""
() => {
  const out = [];
  const abs = (u) => { try { return new URL(u.trim(), document.baseURI).href; } catch { return null; } };
  const push = (url, thumb, title) => {
    if (!url) return;
    const a = abs(url);
    if (a && /^https?:/.test(a)) out.push({url: a, thumb: thumb ? abs(thumb) : null, title: title || null});
  };
  const largest = (srcset) => {
    let best = null, score = -1;
    for (const part of (srcset || '').split(/,\s+/)) {
      const [u, d] = part.trim().split(/\s+/);
      if (!u) continue;
      const v = d ? parseFloat(d) * (d.endsWith('x') ? 1000 : 1) : 1000;
      if (v > score) { score = v; best = u; }
    }
    return best;
  };
  for (const img of document.querySelectorAll('img')) {
    const title = img.alt || img.title;
    const src = img.getAttribute('src');
    const lazy = img.dataset.src || img.dataset.lazySrc || img.getAttribute('data-original');
    const big = largest(img.getAttribute('srcset') || img.dataset.srcset);
    const best = big || lazy || (src && !src.startsWith('data:') ? src : null);
    const thumb = src && !src.startsWith('data:') && abs(src) !== abs(best || '') ? src : null;
    push(best, thumb, title);
    if (lazy && lazy !== best) push(lazy, null, title);
  }
  for (const s of document.querySelectorAll('picture > source')) {
    push(largest(s.getAttribute('srcset') || s.dataset.srcset), null, null);
  }
  for (const el of document.querySelectorAll('*')) {
    const bg = getComputedStyle(el).backgroundImage;
    if (bg && bg !== 'none') for (const m of bg.matchAll(/url\(["']?(.*?)["']?\)/g)) push(m[1], null, null);
  }
  for (const m of document.querySelectorAll('meta[property^="og:image"], meta[name^="og:image"]')) {
    const key = m.getAttribute('property') || m.getAttribute('name');
    if (/^og:image(:url|:secure_url)?$/.test(key)) push(m.content, null, null);
  }
  for (const a of document.querySelectorAll('a[href]')) {
    if (/\.(jpe?g|png|gif|webp|bmp|tiff?|avif)([?#].*)?$/i.test(a.getAttribute('href')))
      push(a.getAttribute('href'), null, a.title || a.textContent.trim());
  }
  return out;
}
"""


async def scroll_steps(page: Page, max_steps: int = 60) -> AsyncIterator[None]:
    """Scroll one screen at a time until the page stops growing, so lazy loaders fire; yields
    before the first step and after each one, so what is on the page can be read as it grows."""
    yield
    for _ in range(max_steps):
        at_end = await page.evaluate(
            "() => { window.scrollBy(0, window.innerHeight);"
            " return window.innerHeight + window.scrollY >= document.body.scrollHeight - 2; }"
        )
        await page.wait_for_timeout(150)
        yield
        if at_end:
            await page.wait_for_timeout(500)
            if await page.evaluate(
                "() => window.innerHeight + window.scrollY >= document.body.scrollHeight - 2"
            ):
                yield
                return


class WebPage(Engine):
    name = "page"
    default_endpoint = ""
    loads_images = False  # discovery reads attributes and computed styles, never pixels

    async def search(self, context: BrowserContext, query: str) -> AsyncIterator[Candidate]:
        target = self.endpoint or query
        if not target.startswith(("http://", "https://")):
            raise EngineError("page: give the page to read with --endpoint URL (or as the query)")
        page = await self.open(context, target)
        seen: set[str] = set()
        # what is found is handed on at every screen, so downloads run while the page scrolls
        async for _ in scroll_steps(page):
            for item in await page.evaluate(_COLLECT):
                if item["url"] not in seen:
                    seen.add(item["url"])
                    yield Candidate(item["url"], item["thumb"], target, item["title"])
