"""Concurrent, polite, bounded HTTP fetching of image URLs.

Caps: global and per-host concurrency, per-host rate (and robots.txt Crawl-delay),
connect/read timeouts and one deadline per URL (retries and redirects included; robots.txt
has its own), a maximum body size.
Retries: transport errors and the statuses in RETRYABLE (408, 425, 429, 500, 502-504) with
exponential backoff and jitter;
`Retry-After` on 429/503 is honoured up to a cap.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urlsplit

import aiohttp

from collector import addresses
from collector.addresses import PrivateAddress, PublicResolver, check_host
from collector.politeness import HostLimiter, RobotsCache, opted_out
from happysad.common.images import MAX_BYTES

DEFAULT_USER_AGENT = "happysad-collector/0.1 (image dataset builder; honours robots.txt)"
RETRYABLE = {408, 425, 429, 500, 502, 503, 504}


@dataclass
class DownloadSettings:
    concurrency: int = 32
    per_host: int = 8
    host_rate: float = 20.0  # requests per second per host; 0 = no cap
    connect_timeout: float = 10.0
    read_timeout: float = 30.0  # the longest gap between two reads
    total_timeout: float = 30.0  # one URL's whole download, retries included: a trickling host cannot hold us
    retries: int = 3
    backoff: float = 0.5
    max_retry_after: float = 120.0
    max_bytes: int = MAX_BYTES
    user_agent: str = DEFAULT_USER_AGENT
    respect_robots: bool = True
    allow_private: bool = False  # loopback, private and link-local hosts (collector.addresses)


class FetchProblem(Exception):
    """A URL gave no usable body. `status` is the manifest status: failed or filtered;
    `attempts` the requests made for it (0 when policy said no before any)."""

    status = "failed"

    def __init__(self, reason: str, attempts: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts


class FetchFailed(FetchProblem):
    """Transport or HTTP failure: the bytes could not be had."""


class FetchRefused(FetchProblem):
    """The owner or our policy says no (robots.txt, noai, too large): not worth a fallback."""

    status = "filtered"


@dataclass(frozen=True)
class Fetched:
    final_url: str  # after redirects: what relative links in a fetched page resolve against
    content: bytes
    attempts: int


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Parse Retry-After as delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class Downloader:
    """Use as `async with Downloader(settings) as dl: await dl.fetch(url)`.

    aiohttp rather than httpx: on a 2-core machine httpx's connection pool spends
    most of its time scanning idle connections at 64 parallel requests (measured:
    about 6x slower than aiohttp on the same loopback host, see bench/).
    """

    def __init__(self, settings: DownloadSettings) -> None:
        self.settings = settings
        self.global_slots = asyncio.Semaphore(settings.concurrency)
        self.hosts = HostLimiter(settings.per_host, settings.host_rate)
        self.session: aiohttp.ClientSession | None = None
        self.robots: RobotsCache | None = None

    async def __aenter__(self) -> Downloader:
        s = self.settings
        self.session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(
                total=s.total_timeout, sock_connect=s.connect_timeout, sock_read=s.read_timeout
            ),
            headers={"User-Agent": s.user_agent, "Accept": "image/*,*/*;q=0.5"},
            connector=aiohttp.TCPConnector(
                limit=s.concurrency,
                limit_per_host=s.per_host,
                resolver=None if s.allow_private else PublicResolver(),
            ),
        )
        self.robots = RobotsCache(self.session, s.allow_private)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.session is not None:
            await self.session.close()

    def _backoff(self, attempt: int) -> float:
        return self.settings.backoff * (2**attempt) * (0.5 + random.random())

    async def fetch(self, url: str) -> Fetched:
        """Return the body of `url`, or raise FetchFailed / FetchRefused with a short reason."""
        assert self.robots is not None, "use Downloader as an async context manager"
        parts = urlsplit(url)
        if not parts.netloc or parts.scheme not in ("http", "https"):
            raise FetchFailed("not an http(s) URL")
        try:
            return await self._fetch(url, parts.netloc)
        except PrivateAddress as exc:
            raise FetchRefused(exc.reason) from None
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, PrivateAddress):
                raise FetchRefused(exc.os_error.reason) from None
            raise

    async def _fetch(self, url: str, netloc: str) -> Fetched:
        assert self.robots is not None
        if not self.settings.allow_private:
            check_host(urlsplit(url).hostname or "")
        crawl_delay = 0.0
        if self.settings.respect_robots:
            rules = await self.robots.rules(url)
            if not rules.allowed(url, self.settings.user_agent):
                raise FetchRefused("disallowed by robots.txt")
            crawl_delay = rules.crawl_delay(self.settings.user_agent)
        last = "no attempt"
        loop = asyncio.get_running_loop()
        deadline: float | None = None  # --timeout bounds the whole download, retries included
        for attempt in range(self.settings.retries + 1):
            wait: float | None = None
            async with self.global_slots, self.hosts.slot(netloc):
                await self.hosts.pace(netloc, crawl_delay)
                if deadline is None:  # from the first request, not from the wait for a slot
                    deadline = loop.time() + self.settings.total_timeout
                try:
                    result = await self._get(url, attempt + 1, deadline)
                except aiohttp.ClientConnectorError as exc:
                    if isinstance(exc.os_error, PrivateAddress):
                        raise
                    last = f"connection error ({type(exc).__name__})"
                except (asyncio.TimeoutError, aiohttp.ServerTimeoutError):
                    last = "timeout"
                except aiohttp.ClientPayloadError:
                    last = "incomplete body"
                except aiohttp.ClientError as exc:
                    last = f"connection error ({type(exc).__name__})"
                else:
                    if isinstance(result, Fetched):
                        return result
                    last, wait = result
            pause = self._backoff(attempt) if wait is None else wait
            if attempt == self.settings.retries or loop.time() + pause >= deadline:
                break  # no tries, or no time, left
            await asyncio.sleep(pause)
        raise FetchFailed(last, attempt + 1)

    async def _get(self, url: str, attempt: int, deadline: float) -> Fetched | tuple[str, float | None]:
        """One request, every redirect hop's host checked (addresses.get), done by `deadline`.
        Returns the result, or (reason, wait) when worth retrying."""
        assert self.session is not None
        try:
            async with addresses.get(self.session, url, self.settings.allow_private, deadline) as response:
                return await self._read(url, response, attempt)
        except addresses.RedirectLoop:
            raise FetchFailed("redirect loop", attempt) from None

    async def _read(
        self, url: str, response: aiohttp.ClientResponse, attempt: int
    ) -> Fetched | tuple[str, float | None]:
        """The final response's body, within the caps and the owner's wishes."""
        s = self.settings
        code = response.status
        if code in RETRYABLE:
            wait = None
            if code in (429, 503):
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                if wait is not None and wait > s.max_retry_after:
                    raise FetchFailed(f"http {code}, Retry-After {wait:.0f}s is too long", attempt)
            return f"http {code}", wait
        if code >= 400:
            raise FetchFailed(f"http {code}", attempt)
        directive = opted_out(response.headers.getall("X-Robots-Tag", []), s.user_agent)
        if directive and s.respect_robots:
            raise FetchRefused(f"X-Robots-Tag: {directive}", attempt)
        length = response.content_length
        if length is not None and length > s.max_bytes:
            raise FetchRefused(f"too large ({length} bytes > {s.max_bytes})", attempt)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(1 << 16):
            size += len(chunk)
            if size > s.max_bytes:
                raise FetchRefused(f"too large (over {s.max_bytes} bytes)", attempt)
            chunks.append(chunk)
        return Fetched(str(response.url), b"".join(chunks), attempt)
