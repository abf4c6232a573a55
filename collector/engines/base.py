"""The one interface every engine implements: a query in, ranked image candidates out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import ClassVar

from playwright.async_api import BrowserContext, Page
from playwright.async_api import Error as PlaywrightError

from collector.downloader import Fetched
from collector.errors import EngineError
from happysad.common.errors import first_line


@dataclass(frozen=True)
class Candidate:
    """One image an engine points at: the full-size URL and what it knows about it."""

    url: str
    thumb_url: str | None = None
    page_url: str | None = None
    title: str | None = None


Fetch = Callable[[str], Awaitable[Fetched]]  # the downloader's: robots.txt, address checks, caps


class Engine(ABC):
    """A search engine (or a plain page) driven in a real browser.

    `search` is an async generator: the pipeline pulls candidates as fast as it can
    download them and stops pulling at its limit, so engines scroll only as far as needed.
    """

    name: ClassVar[str]
    default_endpoint: ClassVar[str]
    # whether the browser should load the images of the pages it reads (a results page may
    # need them to lay out; a page whose images we download does not: that would fetch each twice)
    loads_images: ClassVar[bool] = True

    def __init__(self, endpoint: str | None = None) -> None:
        self.endpoint = endpoint or self.default_endpoint

    async def first_read(self, query: str, fetch: Fetch) -> list[Candidate]:
        """Candidates found without a browser, before `search` (which runs only if the job
        wants more); none for a search engine, whose results need the browser."""
        return []

    @abstractmethod
    def search(self, context: BrowserContext, query: str) -> AsyncIterator[Candidate]:
        """Yield candidates in the engine's rank order until it has no more."""

    async def open(self, context: BrowserContext, url: str, strict: bool = True) -> Page:
        """Load `url` in a new tab; a network failure (or, if strict, an HTTP error) is an EngineError."""
        page = await context.new_page()
        try:
            response = await page.goto(url, wait_until="domcontentloaded", timeout=30_000)
        except PlaywrightError as exc:
            raise EngineError(f"{self.name}: could not load {url} ({first_line(exc)})") from exc
        if strict and response is not None and response.status >= 400:
            raise EngineError(f"{self.name}: {url} answered HTTP {response.status}")
        return page
