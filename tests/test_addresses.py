"""The downloader reaches public hosts only unless told otherwise: the check is fed the
addresses themselves; the only connections made are to this test's own loopback server."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web

from collector import addresses
from collector.downloader import Downloader, DownloadSettings, FetchRefused
from tests.conftest import LiveSite, loopback_app, rows, run_collect


@pytest.mark.parametrize(
    ("address", "kind"),
    [("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"), ("0.0.0.0", "unspecified"),
     ("10.1.2.3", "private"), ("172.16.0.5", "private"), ("192.168.1.1", "private"), ("fd00::1", "private"),
     ("169.254.169.254", "link-local"), ("fe80::1%eth0", "link-local"), ("::ffff:127.0.0.1", "loopback"),
     ("100.64.0.1", "non-public"), ("224.0.0.1", "multicast"),
     ("93.184.216.34", None), ("2606:4700::1111", None), ("example.org", None)],
)  # fmt: skip
def test_every_non_public_address_is_named_and_public_ones_pass(address, kind):
    assert addresses.kind_of(address) == kind
    if kind:
        with pytest.raises(addresses.PrivateAddress, match=kind):
            addresses.check_host(address)


def test_collect_refuses_a_loopback_site_unless_allowed(live: LiveSite, tmp_path):
    endpoint = f"{live.url}/images/search"
    refusal = run_collect(
        "happy people",
        "--limit",
        "3",
        "--endpoint",
        endpoint,
        "--json",
        data=tmp_path / "no",
        allow_private=False,
    )
    # nothing stored: exit 1, one line naming the commonest reason and the option that lifts it
    assert refusal.returncode == 1 and json.loads(refusal.stdout)["ok"] == 0
    assert refusal.stderr.strip().count("\n") == 0
    assert "loopback address refused; --allow-private lifts it" in refusal.stderr
    refused = [r for r in rows(tmp_path / "no") if r["status"] != "pending"]
    assert refused and all(r["status"] == "filtered" for r in refused)
    assert {r["reason"] for r in refused} == {"loopback address refused"}
    assert not list((tmp_path / "no" / "raw").rglob("*.*"))
    allowed = run_collect(
        "happy people", "--limit", "3", "--endpoint", endpoint, "--json", data=tmp_path / "yes"
    )
    assert allowed.returncode == 0 and sum(r["status"] == "ok" for r in rows(tmp_path / "yes")) == 3


def test_a_redirect_to_a_non_public_address_is_refused_at_that_hop(monkeypatch):
    """Here 127.0.0.1 stands for a public host and 127.0.0.2 for an internal one: the second
    hop is refused before any connection is made to it."""
    real = addresses.kind_of
    monkeypatch.setattr(addresses, "kind_of", lambda a: None if a == "127.0.0.1" else real(a))

    async def hop(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://127.0.0.2:{request.url.port}/metadata.jpg")

    async def fetch() -> str:
        settings = DownloadSettings(retries=0, respect_robots=False)
        try:
            async with loopback_app({"/a.jpg": hop}) as base, Downloader(settings) as downloader:
                await downloader.fetch(f"{base}/a.jpg")
        except FetchRefused as exc:
            return exc.reason
        return "fetched"

    assert asyncio.run(fetch()) == "loopback address refused"
