"""What `collect` runs: an engine's reads as the reader, then the pipeline or a URL list."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable
from functools import partial
from pathlib import Path

from playwright.async_api import Error as PlaywrightError

from collector.browser import browser_context
from collector.downloader import Downloader, DownloadSettings
from collector.engines import Candidate, Engine, get_engine
from collector.engines.base import Fetch
from collector.errors import CollectError
from collector.manifest import Manifest
from collector.pipeline import Job, Pipeline, Summary
from collector.store import RawStore
from happysad.common.errors import first_line
from happysad.common.files import write_atomic
from happysad.common.labels import check_label
from happysad.common.workspace import exclusive

Reader = Callable[[Fetch], AsyncIterable[Candidate]]  # given the downloader's fetch


async def read(
    engine: Engine, query: str, browser_path: str | None, fetch: Fetch
) -> AsyncIterator[Candidate]:
    """An engine's candidates: what it finds without a browser first, then what it finds in
    headless Chromium. Chromium starts only when the job wants more than the first read gave,
    and closes as soon as the engine has no more: the last downloads do not wait for it."""
    for candidate in await engine.first_read(query, fetch):
        yield candidate
    async with browser_context(browser_path, engine.loads_images) as context:
        async for candidate in engine.search(context, query):
            yield candidate


async def collect(
    job: Job,
    data_dir: Path,
    settings: DownloadSettings,
    endpoint: str | None = None,
    browser_path: str | None = None,
    on_update: Callable[[Summary], None] | None = None,
) -> Summary:
    """Search with the job's engine and download what it finds."""
    engine = get_engine(job.engine, endpoint)
    return await download(job, data_dir, settings, partial(read, engine, job.query, browser_path), on_update)


async def download(
    job: Job,
    data_dir: Path,
    settings: DownloadSettings,
    reader: Reader,
    on_update: Callable[[Summary], None] | None = None,
) -> Summary:
    """Run the downloader and writer over any reader of candidates (an engine, a URL list)."""
    check_label(job.label)
    # one collect per workspace: a second run's start-up clean-up of .tmp/ would break this one
    with exclusive(data_dir, "collect"), Manifest(data_dir) as manifest:
        async with Downloader(settings) as downloader:
            pipeline = Pipeline(job, manifest, RawStore(data_dir), downloader, on_update)
            return await pipeline.run(reader(downloader.fetch))


async def candidate_list(
    job: Job,
    out: Path,
    settings: DownloadSettings,
    endpoint: str | None = None,
    browser_path: str | None = None,
) -> tuple[int, str | None]:
    """Write up to `job.limit` candidates as Parquet in img2dataset's input layout; returns
    how many, and why the search stopped early (what was read before is written) or None.

    Columns: url, caption (img2dataset's `--url_col`/`--caption_col` defaults), then
    label, page_url, thumb_url, query, engine, rank for `--save_additional_columns`.
    """
    import pyarrow as pa  # here: a tenth of a second of start-up that only this job needs
    import pyarrow.parquet as pq

    check_label(job.label)
    engine = get_engine(job.engine, endpoint)
    rows: list[dict[str, object]] = []
    seen: set[str] = set()
    stopped = None
    async with Downloader(settings) as downloader:
        results = read(engine, job.query, browser_path, downloader.fetch)
        try:
            async for candidate in results:
                if candidate.url in seen:
                    continue
                seen.add(candidate.url)
                rows.append(
                    {
                        "url": candidate.url,
                        "caption": candidate.title or "",
                        "label": job.label,
                        "page_url": candidate.page_url,
                        "thumb_url": candidate.thumb_url,
                        "query": job.query,
                        "engine": job.engine,
                        "rank": len(rows) + 1,
                    }
                )
                if len(rows) >= job.limit:
                    break
        except (CollectError, PlaywrightError) as exc:  # a page that stops loading after its HTML was read
            if not rows:
                raise
            stopped = first_line(exc)
        await results.aclose()
    if not rows:
        raise CollectError(f"{job.engine} found no images for {job.query!r}")
    buffer = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    write_atomic(out, buffer.getvalue().to_pybytes())
    return len(rows), stopped
