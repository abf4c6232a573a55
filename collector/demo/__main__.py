"""`python -m collector.demo`: serve the offline demo search engine on loopback."""

from __future__ import annotations

import argparse
import time

from collector.demo import catalogue
from collector.demo.server import Site, serve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--count", type=int, default=120, help="results per query")
    args = parser.parse_args()
    site = Site()
    catalogue.install(site, args.count)
    with serve(site, port=args.port) as url:
        print(f"demo image search at {url}/images/search (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
