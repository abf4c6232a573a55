"""`collect QUERY`: the command line over collector.job; parse, call, print."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from collector.downloader import DownloadSettings
from collector.engines import DEFAULT_ENGINE, ENGINES
from collector.errors import CollectError
from collector.job import candidate_list, collect
from collector.pipeline import Job, Summary
from happysad.common.cli import DataOpt, JsonOpt, choices, err, one_line_errors
from happysad.common.labels import check_label, slugify
from happysad.common.workspace import resolve_data_dir

EngineName = choices("EngineName", ENGINES)

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
    query: Annotated[str, typer.Argument(help="What to search for, e.g. 'happy people'.")],
    label: Annotated[
        str | None, typer.Option("--label", "-l", help="Class label (default: slug of QUERY).")
    ] = None,
    engine: Annotated[EngineName, typer.Option("--engine", "-e", help="Where to search.")] = DEFAULT_ENGINE,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="New, valid, unique images to add.")
    ] = Job.limit,
    endpoint: Annotated[
        str | None,
        typer.Option(
            "--endpoint",
            help="Replace the engine's base URL (bing: its /images/search page; page: the page).",
        ),
    ] = None,
    data: DataOpt = None,
    json_out: JsonOpt = False,
    browser_path: Annotated[
        str | None,
        typer.Option(
            "--browser-path", help="Chromium/Chrome executable (default: $HAPPYSAD_BROWSER, then auto)."
        ),
    ] = None,
    urls_only: Annotated[
        Path | None,
        typer.Option(
            "--urls-only", help="Only search; write candidates to this Parquet file for img2dataset."
        ),
    ] = None,
    ignore_robots: Annotated[
        bool, typer.Option("--ignore-robots", help="Skip robots.txt and X-Robots-Tag checks.")
    ] = False,
    user_agent: Annotated[
        str, typer.Option("--user-agent", help="User-Agent for image requests.")
    ] = DownloadSettings.user_agent,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, help="Downloads at once, all hosts.")
    ] = DownloadSettings.concurrency,
    per_host: Annotated[
        int, typer.Option("--per-host", min=1, help="Downloads at once per host.")
    ] = DownloadSettings.per_host,
    host_rate: Annotated[
        float, typer.Option("--host-rate", min=0, help="Requests per second per host (0: no cap).")
    ] = DownloadSettings.host_rate,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=0.1, help="Seconds one whole download may take (robots.txt too)."),
    ] = DownloadSettings.total_timeout,
    retries: Annotated[
        int, typer.Option("--retries", min=0, help="Retries per URL after the first try.")
    ] = DownloadSettings.retries,
    max_bytes: Annotated[
        int, typer.Option("--max-bytes", min=1, help="Largest file accepted.")
    ] = DownloadSettings.max_bytes,
    min_size: Annotated[
        int, typer.Option("--min-size", min=1, help="Smallest width and height accepted.")
    ] = Job.min_width,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Try URLs that failed before again.")
    ] = False,
    allow_private: Annotated[
        bool,
        typer.Option(
            "--allow-private",
            help="Also fetch loopback, private and link-local addresses (refused by default).",
        ),
    ] = False,
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
