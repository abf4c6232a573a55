"""The demo site's search results: mostly drawn faces, plus the mess real searches return.

Per query the results hold planted exact duplicates (same bytes, another URL),
near-duplicates (same scene re-rendered at another size and quality), text banners,
an HTML page served as a JPEG, a tiny icon, a full-size URL that is gone (so the
engine's thumbnail is used) and a few faces of the opposite mood (mislabels), so
every later stage has something real to do.
"""

from __future__ import annotations

import random
import sqlite3
import zlib
from contextlib import closing
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

from collector.demo import pictures
from collector.demo.bing import Result
from collector.demo.server import Request, Response, Site
from happysad.common.workspace import COLLECTION

JPEG = "image/jpeg"


@dataclass(frozen=True)
class Entry:
    key: str
    kind: str  # face | duplicate | near | banner | html | tiny | gone
    mood: str
    seed: int
    size: tuple[int, int]
    quality: int
    title: str


def _mood_for(query: str) -> str:
    q = query.lower()
    if "sad" in q or "unhappy" in q:
        return "sad"
    return "happy"


def slug_of(query: str) -> str:
    return "-".join(query.lower().split()) or "all"


@lru_cache(maxsize=64)
def entries(slug: str, count: int) -> tuple[Entry, ...]:
    """The ranked results for a query's slug; the same query always gives the same list."""
    query = slug.replace("-", " ")
    base = zlib.crc32(slug.encode())
    rng = random.Random(base)
    mood = _mood_for(query)
    other = "sad" if mood == "happy" else "happy"
    out: list[Entry] = []
    for i in range(count):
        seed = base * 1000 + i
        width, _ = rng.randrange(280, 420), rng.randrange(200, 320)  # (both drawn: the sequence stays)
        size = (width, width * 3 // 4)  # the pictures' own 4:3, so a face is not squashed past finding
        key = f"{slug}-{i:04d}"
        roll = rng.random()
        kind, entry_mood = "face", mood
        if i >= 8 and roll < 0.05:
            kind = "duplicate"
        elif i >= 8 and roll < 0.12:
            kind = "near"
        elif roll < 0.17:
            kind = "banner"
        elif roll < 0.19:
            kind = "html"
        elif roll < 0.21:
            kind = "tiny"
        elif roll < 0.24:
            kind = "gone"
        elif roll < 0.28:
            entry_mood = other
        if kind in ("duplicate", "near"):
            source = out[rng.randrange(len(out))]
            while source.kind not in ("face", "gone"):
                source = out[rng.randrange(len(out))]
            seed, entry_mood = source.seed, source.mood
            if kind == "duplicate":
                size = source.size
            else:
                factor = rng.choice((0.6, 0.75, 1.3))
                size = (int(source.size[0] * factor), int(source.size[1] * factor))
        quality = 90 if kind != "near" else rng.choice((55, 70))
        title = f"{query} #{i + 1}" if kind != "banner" else f"{query} quotes"
        out.append(Entry(key, kind, entry_mood, seed, size, quality, title))
    return tuple(out)


def entry_at(path: str, count: int, prefix: str = "/img/") -> Entry | None:
    """The entry an image URL's path (`/img/<slug>-<n>.jpg`) serves, if any."""
    if not path.startswith(prefix):
        return None
    slug, _, number = path[len(prefix) :].rsplit(".", 1)[0].rpartition("-")
    found = entries(slug, count) if slug else ()
    return found[int(number)] if number.isdigit() and int(number) < len(found) else None


def true_mood(path: str, count: int) -> str | None:
    """What a collected image really shows (happy or sad), None for junk: the demo's answer key."""
    entry = entry_at(path, count)
    return entry.mood if entry is not None and entry.kind not in ("banner", "html", "tiny") else None


def answer_key(data_dir: Path, count: int) -> dict[str, tuple[str, str | None]]:
    """Workspace path of every image collected from the demo → (its label, what it shows)."""
    with closing(sqlite3.connect(data_dir / COLLECTION)) as db:
        rows = db.execute("SELECT url, label, path FROM candidates WHERE status = 'ok'").fetchall()
    return {str(data_dir / p): (label, true_mood(urlparse(url).path, count)) for url, label, p in rows}


def mislabelled(key: dict[str, tuple[str, str | None]]) -> set[str]:
    """The paths in an answer key whose face shows the other mood than their label."""
    return {path for path, (label, mood) in key.items() if mood and mood != label}


@lru_cache(maxsize=4096)
def render(entry: Entry, thumb: bool = False) -> bytes:
    if entry.kind == "banner":
        img = pictures.banner(entry.seed, entry.title)
    elif entry.kind == "tiny":
        img = pictures.face(entry.seed, entry.mood, (24, 24))
    else:
        img = pictures.people(entry.seed, entry.mood, (320, 240)).resize(entry.size)
    if thumb:
        return pictures.jpeg(pictures.thumbnail(img), 80)
    return pictures.jpeg(img, entry.quality)


def install(site: Site, count: int = 120) -> None:
    """Serve images, thumbnails, source pages and robots.txt for the demo's entries."""
    from collector.demo import bing

    def results(req: Request, query: str) -> list[Result]:
        found = entries(slug_of(query), count)
        base = req.base_url
        return [
            Result(f"{base}/img/{e.key}.jpg", f"{base}/th/{e.key}.jpg", f"{base}/p/{e.key}.html", e.title)
            for e in found
        ]

    def image(req: Request) -> Response:
        e = entry_at(req.path, count)
        if e is None or e.kind == "gone":
            return Response(b"gone", 404, "text/plain")
        if e.kind == "html":
            return Response(b"<!doctype html><html><body>Hotlinking denied</body></html>", 200, JPEG)
        return Response(render(e), content_type=JPEG)

    def thumbnail(req: Request) -> Response:
        e = entry_at(req.path, count, "/th/")
        if e is None or e.kind == "html":
            return Response(b"not found", 404, "text/plain")
        return Response(render(e, thumb=True), content_type=JPEG)

    def page(req: Request) -> Response:
        return Response.html(f"<html><body><img src='/img/{req.path[3:-5]}.jpg'></body></html>")

    bing.install(site, results)
    site.route("/img/*", image)
    site.route("/th/*", thumbnail)
    site.route("/p/*", page)
    site.route("/robots.txt", lambda req: Response(b"User-agent: *\nAllow: /\n", 200, "text/plain"))
