"""`collect QUERY`: the command line over collector.job; parse, call, print."""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
from rich.table import Table

from collector import api
from collector.api import Search
from collector.cli_options import (
    AllowPrivateOpt,
    BrowserPathOpt,
    ConcurrencyOpt,
    EndpointOpt,
    EngineOpt,
    HostRateOpt,
    IgnoreRobotsOpt,
    LabelOpt,
    LimitOpt,
    MaxBytesOpt,
    MinSizeOpt,
    PerHostOpt,
    QueryArg,
    RetriesOpt,
    RetryFailedOpt,
    TimeoutOpt,
    UrlsOnlyOpt,
    UserAgentOpt,
)
from collector.downloader import DownloadSettings
from collector.engines import DEFAULT_ENGINE
from collector.errors import CollectStopped
from collector.pipeline import Job, Summary
from happysad.common.cli import DataOpt, JsonOpt, one_line_errors
from happysad.common.jsonable import plain
from happysad.common.workspace import resolve_data_dir

app = typer.Typer(add_completion=False, no_args_is_help=True)


def _table(summary: Summary) -> Table:
    table = Table(title=f"collect {summary.query!r} → {summary.label}", title_justify="left")
    table.add_column("outcome")
    table.add_column("count", justify="right")
    for name in ("found", "resumed", "skipped", "ok", "duplicate", "filtered", "failed", "thumbnails"):
        table.add_row(name, str(getattr(summary, name)))
    for reason, count in summary.reasons.most_common():
        table.add_row(f"  {reason}", str(count), style="dim")
    table.caption = f"{summary.elapsed:.1f}s · workspace {summary.data_dir}"
    return table


@app.command("collect", help="Search for QUERY, download the images, record every candidate's fate.")
@one_line_errors("collect", on_interrupt="interrupted; run the same command again to resume")
def main_command(
    query: QueryArg,
    label: LabelOpt = None,
    engine: EngineOpt = DEFAULT_ENGINE,
    limit: LimitOpt = Job.limit,
    endpoint: EndpointOpt = None,
    data: DataOpt = None,
    json_out: JsonOpt = False,
    browser_path: BrowserPathOpt = None,
    urls_only: UrlsOnlyOpt = None,
    ignore_robots: IgnoreRobotsOpt = False,
    user_agent: UserAgentOpt = DownloadSettings.user_agent,
    concurrency: ConcurrencyOpt = DownloadSettings.concurrency,
    per_host: PerHostOpt = DownloadSettings.per_host,
    host_rate: HostRateOpt = DownloadSettings.host_rate,
    timeout: TimeoutOpt = DownloadSettings.total_timeout,
    retries: RetriesOpt = DownloadSettings.retries,
    max_bytes: MaxBytesOpt = DownloadSettings.max_bytes,
    min_size: MinSizeOpt = Job.min_width,
    retry_failed: RetryFailedOpt = False,
    allow_private: AllowPrivateOpt = False,
) -> None:
    search = Search(query, label, engine.value, limit, endpoint, browser_path)
    settings = DownloadSettings(
        concurrency=concurrency,
        per_host=per_host,
        host_rate=host_rate,
        connect_timeout=min(DownloadSettings.connect_timeout, timeout),
        read_timeout=timeout,
        total_timeout=timeout,
        retries=retries,
        max_bytes=max_bytes,
        user_agent=user_agent,
        respect_robots=not ignore_robots,
        allow_private=allow_private,
    )
    if urls_only is not None:
        listed = api.candidates(urls_only, search, settings)
        note = f" (the search stopped early: {listed.stopped})" if listed.stopped else ""
        print(
            json.dumps(plain(listed))
            if json_out
            else f"wrote {listed.candidates} candidates to {urls_only}{note}"
        )
        return
    data_dir = resolve_data_dir(data, create=True)
    try:
        summary = api.collect(
            data_dir, search, settings, min_size, retry_failed, progress=False if json_out else None
        )
    except CollectStopped as stopped:
        _show(stopped.summary, json_out)
        raise
    _show(summary, json_out)


def _show(summary: Summary, json_out: bool) -> None:
    if json_out:
        print(json.dumps(summary.as_dict()))
    elif summary.found or summary.resumed or summary.skipped:  # else the error line says it all
        Console().print(_table(summary))


def main() -> None:
    app(prog_name="collect")


if __name__ == "__main__":
    sys.exit(main())
