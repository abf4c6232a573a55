"""Being a good guest on image hosts: robots.txt, opt-out headers and a per-host rate cap."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from protego import Protego

from collector import addresses
from collector.addresses import PrivateAddress

# RFC 9309 §2.5: crawlers must parse at least 500 KiB of a robots.txt and may stop there. Reading
# no more bounds memory: a small gzip body can decompress to gigabytes.
ROBOTS_MAX_BYTES = 500 * 1024

# `X-Robots-Tag` directives by which owners opt images out of AI training sets.
OPT_OUT_DIRECTIVES = frozenset({"noai", "noimageai"})


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def opted_out(header_values: list[str], user_agent: str) -> str | None:
    """Return the opt-out directive that applies to us, if any.

    Values look like `noai`, `noimageai, noindex` or `otherbot: noai`; a directive
    prefixed by another agent's name does not apply.
    """
    agent = user_agent.split("/")[0].lower()
    for value in header_values:
        scope = ""
        body = value
        head, sep, rest = value.partition(":")
        if sep and "," not in head and head.strip().lower() not in OPT_OUT_DIRECTIVES:
            scope, body = head.strip().lower(), rest
        if scope and scope not in ("*", agent):
            continue
        for directive in body.split(","):
            if directive.strip().lower() in OPT_OUT_DIRECTIVES:
                return directive.strip().lower()
    return None


@dataclass(frozen=True)
class RobotsRules:
    """One origin's robots.txt; `parsed` None means allow or disallow all, per `default`."""

    parsed: Protego | None = None
    default: bool = True

    def allowed(self, url: str, user_agent: str) -> bool:
        return self.default if self.parsed is None else self.parsed.can_fetch(url, user_agent)

    def crawl_delay(self, user_agent: str) -> float:
        return float((self.parsed and self.parsed.crawl_delay(user_agent)) or 0.0)


class RobotsCache:
    """robots.txt per origin, fetched once, read with Protego (RFC 9309 semantics).

    A missing robots.txt (4xx) allows everything; a server error or an unreachable
    host disallows everything for this run, as the RFC asks; so does a robots.txt that
    redirects to an address we may not reach (its hops are checked as an image's are).
    """

    def __init__(self, session: aiohttp.ClientSession, allow_private: bool = False) -> None:
        self.session = session
        self.allow_private = allow_private
        self._rules: dict[str, RobotsRules] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def _load(self, site: str) -> RobotsRules:
        try:
            async with addresses.get(self.session, f"{site}/robots.txt", self.allow_private) as response:
                if response.status >= 500:
                    return RobotsRules(default=False)
                if response.status >= 400:
                    return RobotsRules()
                body = bytearray()
                async for chunk in response.content.iter_chunked(1 << 16):
                    body += chunk[: ROBOTS_MAX_BYTES - len(body)]
                    if len(body) >= ROBOTS_MAX_BYTES:
                        break
                return RobotsRules(Protego.parse(body.decode("utf-8", errors="replace")))  # RFC 9309: UTF-8
        except aiohttp.ClientConnectorError as exc:
            # the site itself we may not reach: its downloads are refused too, with that reason;
            # a redirect hop we may not reach (a name resolving inward) leaves its rules unknown
            refused_here = isinstance(exc.os_error, PrivateAddress) and exc.host == urlsplit(site).hostname
            return RobotsRules() if refused_here else RobotsRules(default=False)
        except (aiohttp.ClientError, asyncio.TimeoutError, PrivateAddress, addresses.RedirectLoop):
            return RobotsRules(default=False)

    async def rules(self, url: str) -> RobotsRules:
        site = origin(url)
        async with self._locks[site]:
            if site not in self._rules:
                self._rules[site] = await self._load(site)
        return self._rules[site]


class HostLimiter:
    """Caps concurrent requests and request rate per host."""

    def __init__(self, per_host: int, rate: float) -> None:
        self.per_host = per_host
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._slots: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(self.per_host)
        )
        self._next: dict[str, float] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def slot(self, host: str) -> asyncio.Semaphore:
        return self._slots[host]

    async def pace(self, host: str, min_interval: float = 0.0) -> None:
        """Wait until this host may receive its next request."""
        interval = max(self.interval, min_interval)
        if interval <= 0:
            return
        loop = asyncio.get_running_loop()
        async with self._locks[host]:
            now = loop.time()
            start = max(now, self._next.get(host, now))
            self._next[host] = start + interval
        if start > now:
            await asyncio.sleep(start - now)
