"""`collect`'s options, each a reusable `Annotated` type (Typer's way to share an option): the
command's signature then reads as a list of settings, and its help lives here."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from collector.engines import ENGINES
from happysad.common.cli import choices

EngineName = choices("EngineName", ENGINES)

QueryArg = Annotated[str, typer.Argument(help="What to search for, e.g. 'happy people'.")]

LabelOpt = Annotated[str | None, typer.Option("--label", "-l", help="Class label (default: slug of QUERY).")]

EngineOpt = Annotated[EngineName, typer.Option("--engine", "-e", help="Where to search.")]

LimitOpt = Annotated[int, typer.Option("--limit", "-n", min=1, help="New, valid, unique images to add.")]

EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--endpoint",
        help="Replace the engine's base URL (bing: its /images/search page; page: the page).",
    ),
]

BrowserPathOpt = Annotated[
    str | None,
    typer.Option(
        "--browser-path", help="Chromium/Chrome executable (default: $HAPPYSAD_BROWSER, then auto)."
    ),
]

UrlsOnlyOpt = Annotated[
    Path | None,
    typer.Option("--urls-only", help="Only search; write candidates to this Parquet file for img2dataset."),
]

IgnoreRobotsOpt = Annotated[
    bool, typer.Option("--ignore-robots", help="Skip robots.txt and X-Robots-Tag checks.")
]

UserAgentOpt = Annotated[str, typer.Option("--user-agent", help="User-Agent for image requests.")]

ConcurrencyOpt = Annotated[int, typer.Option("--concurrency", min=1, help="Downloads at once, all hosts.")]

PerHostOpt = Annotated[int, typer.Option("--per-host", min=1, help="Downloads at once per host.")]

HostRateOpt = Annotated[
    float, typer.Option("--host-rate", min=0, help="Requests per second per host (0: no cap).")
]

TimeoutOpt = Annotated[
    float,
    typer.Option("--timeout", min=0.1, help="Seconds one whole download may take (robots.txt too)."),
]

RetriesOpt = Annotated[int, typer.Option("--retries", min=0, help="Retries per URL after the first try.")]

MaxBytesOpt = Annotated[int, typer.Option("--max-bytes", min=1, help="Largest file accepted.")]

MinSizeOpt = Annotated[int, typer.Option("--min-size", min=1, help="Smallest width and height accepted.")]

RetryFailedOpt = Annotated[bool, typer.Option("--retry-failed", help="Try URLs that failed before again.")]

AllowPrivateOpt = Annotated[
    bool,
    typer.Option(
        "--allow-private",
        help="Also fetch loopback, private and link-local addresses (refused by default).",
    ),
]
