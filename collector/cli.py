"""`collect QUERY`: the command line over collector.job; parse, call, print."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

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
from collector.errors import CollectError
from collector.job import candidate_list, collect
from collector.pipeline import Job, Summary
from happysad.common.cli import DataOpt, JsonOpt, err, one_line_errors
from happysad.common.labels import check_label, slugify
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


@app.command(help="Search for QUERY, download the images, record every candidate's fate.")
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
    chosen_label = label if label is not None else slugify(query)
    check_label(chosen_label)
    job = Job(query, chosen_label, engine.value, limit, min_size, min_size, retry_failed)
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
        count, stopped = asyncio.run(candidate_list(job, urls_only, settings, endpoint, browser_path))
        result = {
            "query": query,
            "label": chosen_label,
            "engine": engine.value,
            "candidates": count,
            "path": str(urls_only),
            "stopped": stopped,
        }
        note = f" (the search stopped early: {stopped})" if stopped else ""
        print(json.dumps(result) if json_out else f"wrote {count} candidates to {urls_only}{note}")
        return
    data_dir = resolve_data_dir(data, create=True)
    show_progress = not json_out and err.is_terminal
    summary = _run(job, data_dir, settings, endpoint, browser_path, show_progress)
    if json_out:
        print(json.dumps(summary.as_dict()))
    elif summary.found or summary.resumed or summary.skipped:  # else the error line says it all
        Console().print(_table(summary))
    if summary.error:
        raise CollectError(summary.error)


def _run(
    job: Job,
    data_dir: Path,
    settings: DownloadSettings,
    endpoint: str | None,
    browser_path: str | None,
    show_progress: bool,
) -> Summary:
    if not show_progress:
        return asyncio.run(collect(job, data_dir, settings, endpoint, browser_path))
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "found {task.fields[found]} · dup {task.fields[duplicate]} · "
            "filtered {task.fields[filtered]} · failed {task.fields[failed]}"
        ),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )
    with progress:
        task = progress.add_task(job.label, total=job.limit, found=0, duplicate=0, filtered=0, failed=0)

        def update(s: Summary) -> None:
            progress.update(
                task,
                completed=s.ok,
                found=s.found + s.resumed,
                duplicate=s.duplicate,
                filtered=s.filtered,
                failed=s.failed,
            )

        return asyncio.run(collect(job, data_dir, settings, endpoint, browser_path, update))


def main() -> None:
    app(prog_name="collect")


if __name__ == "__main__":
    sys.exit(main())
