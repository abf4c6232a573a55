"""Any web page: the "download all images" job.

Two reads, one set of rules. First the page as served, fetched like an image (robots.txt,
address checks and caps apply) and parsed here: the images its HTML names are downloading
before Chromium has started. Then, only if the job wants more, the page rendered in Chromium
and scrolled so lazy loaders fire, for what only a rendered page shows (CSS backgrounds,
galleries built by scripts). Both reads report the same records (a tag and its attributes);
`candidates` turns records into image URLs, the one home of the rules.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Iterator
from html.parser import HTMLParser
from urllib.parse import urljoin

from playwright.async_api import BrowserContext, Page

from collector.downloader import FetchProblem
from collector.engines.base import Candidate, Engine, Fetch
from collector.errors import EngineError

Record = dict[str, str | None]

# the attributes read from each tag; <source> only as a child of <picture>
ATTRIBUTES: dict[str, list[str]] = {
    "img": ["src", "srcset", "data-srcset", "data-src", "data-lazy-src", "data-original", "alt", "title"],
    "source": ["srcset", "data-srcset"],
    "meta": ["property", "name", "content"],
    "a": ["href", "title"],
}
LAZY = ("data-src", "data-lazy-src", "data-original")  # where lazy loaders keep the real URL
IMAGE_LINK = re.compile(r"\.(jpe?g|png|gif|webp|bmp|tiff?|avif)([?#].*)?$", re.IGNORECASE)
OG_IMAGE = re.compile(r"og:image(:url|:secure_url)?")

# Runs in the page: the same records, in document order, then the CSS backgrounds it renders.
_RECORDS = r"""
(wanted) => {
  const records = [];
  for (const el of document.querySelectorAll('img, picture > source, meta, a[href]')) {
    const tag = el.tagName.toLowerCase();
    const record = {tag};
    for (const name of wanted[tag]) record[name] = el.getAttribute(name);
    if (tag === 'a') record.text = el.textContent;
    records.push(record);
  }
  for (const el of document.querySelectorAll('*')) {
    const bg = getComputedStyle(el).backgroundImage;
    if (bg && bg !== 'none')
      for (const m of bg.matchAll(/url\(["']?(.*?)["']?\)/g)) records.push({tag: 'background', url: m[1]});
  }
  return {base: document.baseURI, records};
}
"""


def largest(srcset: str | None) -> str | None:
    """The URL of a srcset's largest candidate (by width or density; a bare URL counts as 1x)."""
    best, score = None, -1.0
    for part in re.split(r",\s+", srcset or ""):
        url, _, descriptor = part.strip().partition(" ")
        descriptor = descriptor.strip()
        number = re.match(r"\d+(\.\d+)?", descriptor)
        if not url or (descriptor and not number):
            continue
        value = float(number.group()) * (1000 if descriptor.endswith("x") else 1) if number else 1000.0
        if value > score:
            best, score = url, value
    return best


def candidates(records: Iterable[Record], base: str, page_url: str) -> Iterator[Candidate]:
    """Image URLs from a page's records: the largest srcset entry, else the lazy loader's URL,
    else src (kept as the thumbnail when another URL won); og:image; links to image files."""

    def absolute(url: str | None) -> str | None:
        return urljoin(base, url.strip()) if url and url.strip() else None

    def candidate(url: str | None, thumb: str | None = None, title: str | None = None) -> Candidate | None:
        full = absolute(url)
        if not full or not full.startswith(("http://", "https://")):
            return None
        return Candidate(full, absolute(thumb), page_url, title or None)

    for r in records:
        tag, found = r["tag"], []
        if tag == "img":
            src = r["src"] if r["src"] and not r["src"].startswith("data:") else None
            lazy = next((r[name] for name in LAZY if r[name]), None)
            best = largest(r["srcset"] or r["data-srcset"]) or lazy or src
            thumb = src if src and absolute(src) != absolute(best) else None
            title = r["alt"] or r["title"]
            found = [candidate(best, thumb, title), candidate(lazy, None, title) if lazy != best else None]
        elif tag == "source":
            found = [candidate(largest(r["srcset"] or r["data-srcset"]))]
        elif tag == "meta" and OG_IMAGE.fullmatch(r["property"] or r["name"] or ""):
            found = [candidate(r["content"])]
        elif tag == "a" and IMAGE_LINK.search(r["href"] or ""):
            found = [candidate(r["href"], None, r["title"] or (r["text"] or "").strip())]
        elif tag == "background":
            found = [candidate(r["url"])]
        yield from (c for c in found if c is not None)


class _Served(HTMLParser):
    """The records of a page's HTML as served (before any script runs)."""

    def __init__(self, url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base, self.records = url, []
        self._based = False  # only the first <base href> counts, as in browsers
        self._pictures = 0
        self._link: Record | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(reversed(attrs))  # the first of a repeated attribute wins, as in browsers
        if tag == "base" and values.get("href") and not self._based:
            self.base, self._based = urljoin(self.base, values["href"] or ""), True
        elif tag == "picture":
            self._pictures += 1
        elif tag in ATTRIBUTES and (tag != "source" or self._pictures) and (tag != "a" or values.get("href")):
            record: Record = {"tag": tag, **{name: values.get(name) for name in ATTRIBUTES[tag]}}
            self.records.append(record)
            if tag == "a":
                record["text"], self._link = "", record

    def handle_endtag(self, tag: str) -> None:
        if tag == "picture":
            self._pictures = max(0, self._pictures - 1)
        elif tag == "a":
            self._link = None

    def handle_data(self, data: str) -> None:
        if self._link is not None:
            self._link["text"] = (self._link["text"] or "") + data


def served_records(html: bytes, url: str) -> tuple[str, list[Record]]:
    """(base URL, records) of an HTML page as served."""
    parser = _Served(url)
    parser.feed(html.decode("utf-8", errors="replace"))
    parser.close()
    return parser.base, parser.records


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

    def _target(self, query: str) -> str:
        target = self.endpoint or query
        if not target.startswith(("http://", "https://")):
            raise EngineError("page: give the page to read with --endpoint URL (or as the query)")
        return target

    async def first_read(self, query: str, fetch: Fetch) -> list[Candidate]:
        target = self._target(query)
        try:
            fetched = await fetch(target)
        except FetchProblem:
            return []  # refused or failed: the browser reads the page, or says why it cannot
        base, records = served_records(fetched.content, fetched.final_url)
        return list(candidates(records, base, target))

    async def search(self, context: BrowserContext, query: str) -> AsyncIterator[Candidate]:
        target = self._target(query)
        page = await self.open(context, target)
        # what is found is handed on at every screen, so downloads run while the page scrolls
        async for _ in scroll_steps(page):
            found = await page.evaluate(_RECORDS, ATTRIBUTES)
            for candidate in candidates(found["records"], found["base"], target):
                yield candidate
