"""A loopback site that imitates each engine and an image host with every fault we handle."""

from __future__ import annotations

import html
import io
import json
import random
import struct
import threading
import time
import zlib
from collections import defaultdict
from functools import cache
from urllib.parse import quote

from PIL import Image

from collector.demo import bing, pictures
from collector.demo.server import Request, Response, Site

JPEG = "image/jpeg"


@cache
def face_jpeg(n: int, size: tuple[int, int] = (200, 150)) -> bytes:
    return pictures.jpeg(pictures.face(n, "happy" if n % 2 else "sad", size))


@cache
def bomb_png(side: int = 20000) -> bytes:
    """A valid 1-bit PNG of side×side pixels that compresses to a few kilobytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" * (1 + side // 8)
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row * 500) for _ in range(side // 500)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


@cache
def noise_jpeg(side: int = 600) -> bytes:
    """Incompressible: a few hundred kilobytes, for the size cap."""
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), random.Random(7).randbytes(side * side * 3)).save(
        out, "JPEG", quality=95
    )
    return out.getvalue()


def gif_animation() -> bytes:
    frames = [Image.new("RGB", (80, 80), c) for c in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    return out.getvalue()


def from_collector(request: Request) -> bool:
    return request.headers.get("User-Agent", "").startswith("happysad")


class FixtureSite(Site):
    """Adds request timestamps per path to the demo server's hit counts."""

    def __init__(self) -> None:
        super().__init__()
        self.times: defaultdict[str, list[float]] = defaultdict(list)
        self.image_delay = 0.0
        self._calls: defaultdict[str, int] = defaultdict(int)
        self._guard = threading.Lock()

    def handle(self, request: Request) -> Response:
        if from_collector(request):  # the browser also loads images while rendering pages
            self.times[request.path].append(time.monotonic())
        return super().handle(request)

    def nth_call(self, key: str) -> int:
        with self._guard:
            self._calls[key] += 1
            return self._calls[key]


def build() -> FixtureSite:
    site = FixtureSite()
    for add in (_image_host, _show_page, _bing, _duckduckgo, _google, _pages):
        add(site)
    return site


def _image_host(site: FixtureSite) -> None:
    """The image host: a good image per number, and one path per fault we handle."""

    def ok_image(req: Request) -> Response:
        n = int(req.path.rsplit("-", 1)[1].split(".")[0])
        return Response(face_jpeg(n), content_type=JPEG, delay=site.image_delay)

    same = face_jpeg(999)
    good = face_jpeg(998)
    routes = {
        "/slow.jpg": lambda r: Response(good, content_type=JPEG, delay=3.0),
        "/missing.jpg": lambda r: Response(b"no", 404, "text/plain"),
        "/html.jpg": lambda r: Response(b"<!DOCTYPE html><html><body>Forbidden</body></html>", 200, JPEG),
        "/truncated.jpg": lambda r: Response(face_jpeg(997)[:1500], content_type=JPEG),
        "/logo.svg": lambda r: Response(
            b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"/>', 200, "image/svg+xml"
        ),
        "/bomb.png": lambda r: Response(bomb_png(), content_type="image/png"),
        "/loop-a.jpg": lambda r: Response(b"", 302, "text/plain", {"Location": "/loop-b.jpg"}),
        "/loop-b.jpg": lambda r: Response(b"", 302, "text/plain", {"Location": "/loop-a.jpg"}),
        "/same-a.jpg": lambda r: Response(same, content_type=JPEG),
        "/same-b.jpg": lambda r: Response(same, content_type=JPEG),
        "/same-c.jpg": lambda r: Response(same, content_type=JPEG),
        "/private/secret.jpg": lambda r: Response(face_jpeg(996), content_type=JPEG),
        "/noai.jpg": lambda r: Response(face_jpeg(995), content_type=JPEG, headers={"X-Robots-Tag": "noai"}),
        "/huge.jpg": lambda r: Response(noise_jpeg(), content_type=JPEG),
        "/tiny.png": lambda r: Response(
            pictures.png(pictures.face(1, "happy", (20, 20))), content_type="image/png"
        ),
        "/anim.gif": lambda r: Response(gif_animation(), content_type="image/gif"),
        "/redirected.jpg": lambda r: Response(b"", 301, "text/plain", {"Location": "/img/ok-901.jpg"}),
    }

    def rate_limited(req: Request) -> Response:
        if from_collector(req) and site.nth_call("429") == 1:
            return Response(b"slow down", 429, "text/plain", {"Retry-After": "1"})
        return Response(face_jpeg(993), content_type=JPEG)

    def flaky(req: Request) -> Response:
        if from_collector(req) and site.nth_call("500") == 1:
            return Response(b"oops", 500, "text/plain")
        return Response(face_jpeg(992), content_type=JPEG)

    routes["/ratelimited.jpg"] = rate_limited
    routes["/flaky.jpg"] = flaky
    for path, handler in routes.items():
        site.route(path, handler)
    site.route("/img/ok-*", ok_image)
    site.route(
        "/robots.txt",
        lambda r: Response(b"User-agent: *\nDisallow: /private/\n", 200, "text/plain"),
    )


def _show_page(site: FixtureSite) -> None:
    """A page showing one full image with its thumbnail, for single-fault runs."""

    def show(req: Request) -> Response:
        full, thumb = req.query.get("full", ""), req.query.get("thumb", "")
        src = f' src="{html.escape(thumb)}"' if thumb else ""
        return Response.html(f'<html><body><img{src} srcset="{html.escape(full)} 2x"></body></html>')

    site.route("/show", show)


def _bing(site: FixtureSite) -> None:
    """Bing's image search: 130 results a query, 20 a page."""

    def bing_results(req: Request, query: str) -> list[bing.Result]:
        count = 0 if query == "nothing" else 130
        base = req.base_url
        return [
            bing.Result(
                f"{base}/img/ok-{i}.jpg", f"{base}/img/ok-{i + 5000}.jpg", f"{base}/p/{i}", f"{query} {i}"
            )
            for i in range(count)
        ]

    bing.install(site, bing_results, page_size=20, auto_pages=2)


def _duckduckgo(site: FixtureSite) -> None:
    """DuckDuckGo: its page hands out the token its JSON API wants, 25 results in pages of 10."""
    ddg_vqd = "4-31415926535897932384626433832795"

    def ddg_page(req: Request) -> Response:
        return Response.html(
            f"<html><head><script>DDG.deep.initialize('/d.js?q={quote(req.query.get('q', ''))}"
            f"&vqd={ddg_vqd}');</script></head><body>images</body></html>"
        )

    def ddg_api(req: Request) -> Response:
        if req.query.get("vqd") != ddg_vqd or "Referer" not in req.headers:
            return Response(b'{"error": "forbidden"}', 403, "application/json")
        start = int(req.query.get("s", "0"))
        items = [
            {
                "image": f"{req.base_url}/img/ok-{2000 + i}.jpg",
                "thumbnail": f"{req.base_url}/img/ok-{7000 + i}.jpg",
                "url": f"{req.base_url}/article/{i}",
                "title": f"duck {i}",
                "width": 200,
                "height": 150,
            }
            for i in range(start, min(start + 10, 25))
        ]
        body: dict[str, object] = {"results": items, "query": req.query.get("q")}
        if start + 10 < 25:
            body["next"] = f"i.js?q={quote(req.query.get('q', ''))}&o=json&p=1&s={start + 10}&f=,,,,,&l=us-en"
        return Response(json.dumps(body).encode(), content_type="application/json")

    site.route("/ddg/", ddg_page)
    site.route("/ddg/i.js", ddg_api)


def _google(site: FixtureSite) -> None:
    """Google: results in a script, and its consent page, rate-limit page, captcha and empty page."""

    def google_results(req: Request) -> Response:
        triples = ",".join(
            f'["https://encrypted-tbn0.gstatic.com/images?q\\u003dtbn:{i}",150,200],'
            f'["{req.base_url}/img/ok-{3000 + i}.jpg",600,800]'
            for i in range(12)
        )
        return Response.html(
            f"<html><body><script>AF_initDataCallback({{data:[{triples}]}});</script></body></html>"
        )

    site.route("/google/search", google_results)
    site.route(
        "/gconsent/search",
        lambda r: Response(b"", 302, "text/html", {"Location": "/consent/ml?continue=/gconsent/search"}),
    )
    site.route(
        "/consent/ml",
        lambda r: Response.html(
            '<form action="https://consent.example/save"><button>Accept all</button></form>'
        ),
    )
    site.route("/gsorry/search", lambda r: Response(b"", 302, "text/html", {"Location": "/sorry/index"}))
    site.route(
        "/sorry/index", lambda r: Response.html("<p>Our systems have detected unusual traffic</p>", 429)
    )
    site.route(
        "/gcaptcha/search",
        lambda r: Response.html('<form id="captcha-form"><div class="g-recaptcha"></div></form>'),
    )
    site.route("/gempty/search", lambda r: Response.html("<html><body>nothing here</body></html>"))


def _pages(site: FixtureSite) -> None:
    """A generic page with every embedding style."""

    def gallery(req: Request) -> Response:
        return Response.html(GALLERY)

    site.route("/gallery.html", gallery)
    # its HTML to the downloader, then an error to the browser: a page that stops loading
    site.route(
        "/stops-loading.html",
        lambda r: Response.html(GALLERY) if from_collector(r) else Response.html("busy", status=503),
    )
    site.route("/faults.html", lambda r: Response.html(FAULTS))


# Each style points at its own image number so a test can tell which ones were found.
GALLERY = """<!doctype html><html><head>
<meta property="og:image" content="/img/ok-101.jpg">
<style>.hero { background-image: url('/img/ok-102.jpg'); width: 300px; height: 200px; }</style>
</head><body>
<img src="/img/ok-103.jpg" alt="plain">
<img src="/img/ok-5104.jpg" srcset="/img/ok-5204.jpg 400w, /img/ok-104.jpg 1200w, /img/ok-5304.jpg 800w" alt="srcset">
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="/img/ok-105.jpg" alt="lazy">
<img data-lazy-src="/img/ok-106.jpg" alt="lazy2">
<picture><source srcset="/img/ok-107.jpg 1x, /img/ok-207.jpg 2x" type="image/jpeg"><img src="/img/ok-5107.jpg"></picture>
<div class="hero"></div>
<a href="/img/ok-108.jpg">full size</a>
<a href="/about.html">not an image</a>
<div style="height: 4000px"></div>
<div id="end"></div>
<script>
  // infinite scroll: more pictures only once the reader reaches the bottom
  let added = false;
  window.addEventListener('scroll', () => {
    if (!added && window.innerHeight + window.scrollY >= document.body.scrollHeight - 50) {
      added = true;
      const img = document.createElement('img');
      img.src = '/img/ok-109.jpg';
      document.getElementById('end').appendChild(img);
      document.getElementById('end').style.height = '1500px';
    }
  });
</script>
</body></html>"""


# One page holding every fault the image host can produce, in a known order.
FAULTS = """<!doctype html><html><body>
<img src="/img/ok-801.jpg" srcset="/missing.jpg 2x">
<img src="/missing.jpg?alone">
<img src="/html.jpg">
<img src="/truncated.jpg">
<img src="/logo.svg">
<img src="/bomb.png">
<img src="/loop-a.jpg">
<img src="/same-a.jpg"><img src="/same-b.jpg"><img src="/same-c.jpg">
<img src="/private/secret.jpg">
<img src="/noai.jpg">
<img src="/huge.jpg">
<img src="/tiny.png">
<img src="/ratelimited.jpg">
<img src="/flaky.jpg">
<img src="/redirected.jpg">
</body></html>"""
