"""Opt-out headers, Retry-After and the per-host rate cap."""

from __future__ import annotations

import asyncio
import email.utils
import time

import pytest

from collector.downloader import retry_after_seconds
from collector.politeness import HostLimiter, opted_out
from tests.conftest import loopback_app

UA = "happysad-collector/0.1"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["noai"], "noai"),
        (["noindex, NoImageAI"], "noimageai"),
        (["happysad-collector: noai"], "noai"),
        (["otherbot: noai"], None),
        (["noindex", "nofollow"], None),
        ([], None),
    ],
)
def test_x_robots_tag_opt_out(values, expected):
    assert opted_out(values, UA) == expected


def test_retry_after_seconds_and_http_date():
    assert retry_after_seconds("7") == 7.0
    now = time.time()
    later = email.utils.formatdate(now + 30, usegmt=True)
    assert 28 <= retry_after_seconds(later, now=now) <= 31
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_rate_cap_spaces_requests_to_one_host_but_not_others():
    async def scenario() -> tuple[float, float]:
        limiter = HostLimiter(per_host=10, rate=10.0)  # one request per 0.1 s per host
        start = time.monotonic()
        await asyncio.gather(*(limiter.pace("a") for _ in range(5)))
        one_host = time.monotonic() - start
        start = time.monotonic()
        await asyncio.gather(*(limiter.pace(f"h{i}") for i in range(5)))
        return one_host, time.monotonic() - start

    one_host, many_hosts = asyncio.run(scenario())
    assert one_host >= 0.38
    assert many_hosts < 0.05


def test_robots_txt_is_read_up_to_500_kib_only():
    """A gzip robots.txt of a few KB that inflates to 4 MB: only the first 500 KiB are read
    (RFC 9309), so its trailing `Disallow: /` is never seen and memory stays bounded."""
    import asyncio
    import gzip

    import aiohttp
    from aiohttp import web

    from collector.politeness import ROBOTS_MAX_BYTES, RobotsCache

    body = b"# padding\n" * (4 * 2**20 // 10) + b"User-agent: *\nDisallow: /\n"

    async def robots(request: web.Request) -> web.Response:
        return web.Response(
            body=gzip.compress(body), headers={"Content-Encoding": "gzip"}, content_type="text/plain"
        )

    async def check() -> bool:
        async with loopback_app({"/robots.txt": robots}) as base, aiohttp.ClientSession() as session:
            rules = await RobotsCache(session, allow_private=True).rules(f"{base}/a.jpg")
            return rules.allowed(f"{base}/a.jpg", "happysad")

    assert len(body) > 8 * ROBOTS_MAX_BYTES
    assert asyncio.run(check()) is True


def test_a_trickling_host_cannot_hold_a_download_past_its_deadline():
    """A byte every 0.2 s never trips the gap between reads; the deadline ends it, and it is
    the whole download's (--timeout's help): no retry starts once it has passed."""
    import asyncio

    from aiohttp import web

    from collector.downloader import Downloader, DownloadSettings, FetchFailed

    requests = []

    async def trickle(request: web.Request) -> web.StreamResponse:
        requests.append(request.path)
        response = web.StreamResponse(headers={"Content-Type": "image/jpeg"})
        await response.prepare(request)
        for _ in range(100):  # 20 s at most, so the test ends whatever happens
            await response.write(b"\xff")
            await asyncio.sleep(0.2)
        return response

    async def fetch() -> tuple[str, float]:
        settings = DownloadSettings(
            read_timeout=1.0,
            total_timeout=1.5,
            retries=3,
            backoff=0.05,
            respect_robots=False,
            allow_private=True,
        )
        started = time.monotonic()
        try:
            async with loopback_app({"/slow.jpg": trickle}) as base, Downloader(settings) as downloader:
                await downloader.fetch(f"{base}/slow.jpg")
        except FetchFailed as exc:
            return exc.reason, time.monotonic() - started
        return "fetched", time.monotonic() - started

    reason, seconds = asyncio.run(fetch())
    assert reason == "timeout" and seconds < 4, (reason, seconds)
    assert requests == ["/slow.jpg"]  # one request: three retries were allowed, no time was left
