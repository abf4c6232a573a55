"""Opt-out headers, Retry-After and the per-host rate cap."""

from __future__ import annotations

import asyncio
import email.utils
import time

import pytest

from collector.downloader import retry_after_seconds
from collector.politeness import HostLimiter, opted_out

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
