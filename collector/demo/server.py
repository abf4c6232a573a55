"""A tiny threaded HTTP server with a route table, for the demo site and the test fixtures.

Standard library only: it must start anywhere, bind to loopback, and count the hits
on every path so tests can prove what was (and was not) requested.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    base_url: str


@dataclass
class Response:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    @classmethod
    def html(cls, text: str, status: int = 200) -> Response:
        return cls(text.encode(), status)


Handler = Callable[[Request], Response]


class Site:
    """Routes by exact path first, then by the longest matching prefix."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.exact: dict[str, Handler] = {}
        self.prefixes: list[tuple[str, Handler]] = []
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()

    def route(self, path: str, handler: Handler) -> None:
        if path.endswith("*"):
            self.prefixes.append((path[:-1], handler))
            self.prefixes.sort(key=lambda item: -len(item[0]))
        else:
            self.exact[path] = handler

    def handle(self, request: Request) -> Response:
        with self._lock:
            self.hits[request.path] += 1
        handler = self.exact.get(request.path)
        if handler is None:
            handler = next((h for p, h in self.prefixes if request.path.startswith(p)), None)
        if handler is None:
            return Response(b"not found", 404, "text/plain")
        return handler(request)


def _handler_class(site: Site) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            host = self.headers.get("Host", f"127.0.0.1:{self.server.server_port}")
            request = Request(parts.path, query, dict(self.headers.items()), f"http://{host}")
            response = site.handle(request)
            pause = site.latency + response.delay
            if pause:
                time.sleep(pause)
            try:
                self.send_response(response.status)
                self.send_header("Content-Type", response.content_type)
                self.send_header("Content-Length", str(len(response.body)))
                for name, value in response.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(response.body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, format: str, *args: object) -> None:
            """Stay quiet: the collector keeps its own record."""

    return _Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients hanging up (a cancelled download) are normal here, not worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def serve(site: Site, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `site` in a background thread; yields its base URL."""
    server = _Server((host, port), _handler_class(site))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
