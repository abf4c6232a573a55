"""`python -m collector.demo`: serve the offline demo search engine on loopback."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from collector.demo import catalogue
from collector.demo.server import Site, serve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--count", type=int, default=120, help="results per query")
    parser.add_argument("--url-file", help="write the search page's URL here once serving")
    args = parser.parse_args()
    site = Site()
    catalogue.install(site, args.count)
    with serve(site, port=args.port) as url:
        search = f"{url}/images/search"
        if args.url_file:
            Path(args.url_file).write_text(search)
        print(f"demo image search at {search} (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
