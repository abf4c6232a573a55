"""Interchangeable engines behind one interface (`engines.base.Engine`)."""

from __future__ import annotations

from collector.engines.base import Candidate, Engine
from collector.engines.bing import Bing
from collector.engines.duckduckgo import DuckDuckGo
from collector.engines.google import Google
from collector.engines.page import WebPage

ENGINES: dict[str, type[Engine]] = {e.name: e for e in (Bing, DuckDuckGo, Google, WebPage)}
DEFAULT_ENGINE = Bing.name


def get_engine(name: str, endpoint: str | None = None) -> Engine:
    return ENGINES[name](endpoint)


__all__ = ["DEFAULT_ENGINE", "ENGINES", "Candidate", "Engine", "get_engine"]
