"""`serve`'s listening socket and connections: bound before it is announced, a client's bad or
slow request line answered as JSON (400, 408) with one line in the log, Ctrl-C an exit of 130.

aiohttp answers a request it cannot parse (a header line over 8 KB, `Content-Length: abc`)
itself, before any handler or middleware, as plain text, and logs a traceback for each: any
client could flood the log that way. `JsonErrors` answers those as the handlers do, and
`HeaderClock` gives a connection `--timeout` seconds to send its request's headers (aiohttp
only drops a trickling client, silently, when its keep-alive timer runs out at 75 s).
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import signal
import socket
import sys
from collections.abc import Callable
from http import HTTPStatus

from aiohttp import web
from aiohttp.web_protocol import RequestHandler


def _log(line: str) -> None:
    print(f"serve: {line}", file=sys.stderr, flush=True)


class JsonErrors(RequestHandler):
    """A connection whose protocol-level errors are JSON, logged in one line, and whose
    client has `header_timeout` seconds to send each request's headers (else 408)."""

    header_timeout = 30.0

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._clock: asyncio.TimerHandle | None = None
        self.wait_for_request()

    def wait_for_request(self) -> None:
        """(Re)start the header clock: at connection and after each answer (keep-alive)."""
        self.request_arrived()
        self._clock = self._loop.call_later(self.header_timeout, self._too_slow)

    def request_arrived(self) -> None:
        if getattr(self, "_clock", None) is not None:
            self._clock.cancel()
            self._clock = None

    def _too_slow(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        body = json.dumps({"error": f"the request took over {self.header_timeout:.0f} s to arrive"}).encode()
        head = (
            "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        transport.write(head.encode() + body)
        transport.close()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.request_arrived()
        super().connection_lost(exc)

    def handle_error(self, request, status: int = 500, exc: BaseException | None = None, message=None):
        reason = str(getattr(exc, "message", "") or exc or message or HTTPStatus(status).phrase)
        reason = " ".join(reason.split())[:200]
        _log(f"{status} to {request.remote}: {reason}")
        if request.writer.output_size > 0:  # an answer half sent: the connection is broken
            raise ConnectionError("an answer was already being sent")
        response = web.json_response({"error": reason if status < 500 else "internal error"}, status=status)
        response.force_close()
        return response


class _Server(web.Server):
    def __call__(self) -> RequestHandler:
        return JsonErrors(self, loop=self._loop, **self._kwargs)


class _Runner(web.AppRunner):
    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _Server  # the same server, making JsonErrors connections
        return server


@web.middleware
async def header_clock(request: web.Request, handler) -> web.StreamResponse:
    """Stops the connection's header clock while its request is handled; restarts it after."""
    protocol = request.protocol
    if isinstance(protocol, JsonErrors):
        protocol.request_arrived()
    try:
        return await handler(request)
    finally:
        if isinstance(protocol, JsonErrors) and protocol.transport is not None:
            protocol.wait_for_request()


async def _serve(application: web.Application, host: str, port: int, announce: Callable[[], None]) -> None:
    runner = _Runner(application, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()  # a busy port fails here, before any word
        announce()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)  # a service manager's stop
        await stop.wait()
    finally:
        await runner.cleanup()


_HINTS = {errno.EADDRINUSE: "; --port picks another", errno.EADDRNOTAVAIL: "; --host must be this machine's"}


def claim(host: str, port: int) -> None:
    """Bind each address `serve` will listen on, and let go at once: a busy port or an address
    not of this machine is said in a second, not after the model and the face detector have
    loaded (5 s on the AMX Xeon). aiohttp binds them for real once the model is ready."""
    try:
        found = {
            a[4]: a[0]
            for a in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        }
        for address, family in found.items():
            socket.create_server(address, family=family).close()
    except OSError as exc:
        # create_server's own message repeats the address; a resolver's error has no errno > 0
        reason = (os.strerror(exc.errno) if (exc.errno or 0) > 0 else exc.strerror or str(exc)).lower()
        raise OSError(
            exc.errno, f"cannot listen on {host}:{port}: {reason}{_HINTS.get(exc.errno, '')}"
        ) from None


def run(
    application: web.Application, host: str, port: int, header_timeout: float, announce: Callable[[], None]
):
    """Serve until SIGTERM (returns) or Ctrl-C (KeyboardInterrupt, exit 130 by the CLI)."""
    JsonErrors.header_timeout = header_timeout
    application.middlewares.insert(0, header_clock)
    asyncio.run(_serve(application, host, port, announce))
