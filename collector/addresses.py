"""Which hosts the downloader may reach: public addresses only, unless the user opts in.

A scraped page can link (or redirect) to 127.0.0.1, a router's admin page on 192.168.x or a
cloud metadata service on 169.254.169.254; fetching those from the user's machine is a
server-side request forgery. Names are checked after DNS resolution, in the connector's own
resolver (so the address checked is the address connected to), and literal addresses on
every redirect hop (`get`: every request the downloader makes, robots.txt included).
`collect --allow-private` lifts it (the demo and loopback test sites).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

REDIRECTS = {301, 302, 303, 307, 308}
MAX_REDIRECTS = 8


class PrivateAddress(OSError):
    """The host is, or resolves only to, an address that is not public."""

    def __init__(self, host: str, kind: str) -> None:
        super().__init__(f"{kind} address ({host})")
        self.reason = f"{kind} address refused"


def kind_of(address: str) -> str | None:
    """Why an IP address is not public (loopback, private, link-local, ...), or None if it is."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) is not part of it
    except ValueError:
        return None  # a name: checked once resolved
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for kind in ("loopback", "link_local", "unspecified", "multicast", "private", "reserved"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if ip.is_global else "non-public"


def check_host(host: str) -> None:
    """Raise PrivateAddress for a literal address that is not public (names pass: see the resolver)."""
    kind = kind_of(host.strip("[]"))
    if kind:
        raise PrivateAddress(host, kind)


class RedirectLoop(Exception):
    """More than MAX_REDIRECTS hops."""


@asynccontextmanager
async def get(
    session: aiohttp.ClientSession, url: str, allow_private: bool, deadline: float | None = None
) -> AsyncIterator[aiohttp.ClientResponse]:
    """GET `url`, following redirects here rather than in aiohttp, so that every hop's literal
    address is checked before it is connected to (names are checked by PublicResolver).
    `deadline` (the event loop's clock): every hop ends by then, body included; else each
    hop has the session's timeouts."""
    target = URL(url)
    loop = asyncio.get_running_loop()
    for _ in range(MAX_REDIRECTS + 1):
        if not allow_private:
            check_host(target.host or "")
        options = {}
        if deadline is not None:
            left = deadline - loop.time()
            if left <= 0:
                raise asyncio.TimeoutError
            options["timeout"] = aiohttp.ClientTimeout(
                total=left, sock_connect=session.timeout.sock_connect, sock_read=session.timeout.sock_read
            )
        async with session.get(target, allow_redirects=False, **options) as response:
            location = response.headers.get("Location")
            if response.status not in REDIRECTS or not location:
                yield response
                return
        target = target.join(URL(location))
    raise RedirectLoop(url)


class PublicResolver(AbstractResolver):
    """aiohttp's resolver, keeping only public addresses; a name with none left is refused."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(self, host: str, port: int = 0, family: Any = socket.AF_INET) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        public = [r for r in found if kind_of(r["host"]) is None]
        if not public:
            raise PrivateAddress(host, kind_of(found[0]["host"]) or "non-public")
        return public

    async def close(self) -> None:
        await self._inner.close()
