"""Bing Images' results markup and paging, reproduced for offline use.

What the real page does and the `bing` engine relies on: result tiles are `a.iusc`
elements whose `m` attribute holds HTML-escaped JSON (`murl`, `turl`, `purl`, `t`);
scrolling to the bottom loads `/images/async?q=&first=&count=`; after a few such
pages loading stops until "See more images" (`.btn_seemore`) is clicked.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass

from collector.demo.server import Request, Response, Site


@dataclass(frozen=True)
class Result:
    murl: str
    turl: str
    purl: str
    title: str


Results = Callable[[Request, str], list[Result]]

_SCRIPT = """
<script>
(() => {
  const list = document.querySelector('ul.dgControl_list');
  const more = document.querySelector('.btn_seemore');
  const q = new URLSearchParams(location.search).get('q') || '';
  let first = list.children.length + 1, loaded = 0, busy = false, done = %(done)s;
  async function load() {
    if (busy || done) return;
    busy = true;
    const r = await fetch(`/images/async?q=${encodeURIComponent(q)}&first=${first}&count=%(page)d&mmasync=1`);
    const text = await r.text();
    busy = false;
    if (!text.trim()) { done = true; more.style.display = 'none'; return; }
    list.insertAdjacentHTML('beforeend', text);
    first = list.children.length + 1;
    loaded += 1;
    if (loaded %% %(auto)d === 0) more.style.display = 'block';
  }
  window.addEventListener('scroll', () => {
    if (more.style.display === 'block') return;
    if (window.innerHeight + window.scrollY >= document.body.scrollHeight - 200) load();
  });
  more.addEventListener('click', (e) => { e.preventDefault(); more.style.display = 'none'; load(); });
})();
</script>
"""


def tiles(results: list[Result]) -> str:
    """The `li` tiles Bing renders for a slice of results."""
    out = []
    for r in results:
        meta = html.escape(json.dumps({"murl": r.murl, "turl": r.turl, "purl": r.purl, "t": r.title}))
        out.append(
            f'<li><div class="iuscp"><div class="imgpt"><a class="iusc" m="{meta}" '
            f'href="/images/search?view=detailV2"><img class="mimg" src="{html.escape(r.turl)}" '
            f'alt="{html.escape(r.title)}" height="180"></a></div></div></li>'
        )
    return "\n".join(out)


def install(site: Site, results: Results, page_size: int = 35, auto_pages: int = 3) -> None:
    """Serve `/images/search` and `/images/async` on `site` from the `results` function."""

    def search(req: Request) -> Response:
        query = req.query.get("q", "")
        found = results(req, query)
        first = found[:page_size]
        script = _SCRIPT % {
            "page": page_size,
            "auto": auto_pages,
            "done": "true" if len(found) <= page_size else "false",
        }
        return Response.html(
            "<!doctype html><html><head><title>"
            f"{html.escape(query)} - Search Images</title>"
            "<style>li{display:inline-block;width:230px;height:200px;margin:4px}"
            ".btn_seemore{display:none}</style></head><body>"
            f'<div id="mmComponent_images_1"><ul class="dgControl_list">{tiles(first)}</ul></div>'
            '<a class="btn_seemore" href="#" role="button">See more images</a>'
            f"{script}</body></html>"
        )

    def more(req: Request) -> Response:
        query = req.query.get("q", "")
        start = max(int(req.query.get("first", "1") or 1) - 1, 0)
        count = int(req.query.get("count", str(page_size)) or page_size)
        return Response.html(tiles(results(req, query)[start : start + count]))

    site.route("/images/search", search)
    site.route("/images/async", more)
