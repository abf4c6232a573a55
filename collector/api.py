"""`collect` as functions: what the command line and `happysad.Workspace.collect` both call.

Each returns the dataclass whose fields `collect --json` prints and raises the typed errors of
`collector.errors`; the work runs to its end from plain code, in a script or in a notebook
(`happysad.common.aio.run`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from collector.downloader import DownloadSettings
from collector.engines import DEFAULT_ENGINE
from collector.errors import CollectStopped
from collector.job import candidate_list
from collector.job import collect as collect_job
from collector.pipeline import Job, Summary
from happysad.common import aio
from happysad.common.labels import check_label, slugify
from happysad.common.progress import Bars


@dataclass(frozen=True)
class Search:
    """What to look for and where: the query, the label its pictures get, the engine."""

    query: str
    label: str | None = None  # default: the query, slugified ("happy people" → happy-people)
    engine: str = DEFAULT_ENGINE
    limit: int = Job.limit
    endpoint: str | None = None  # another address for the engine (a mirror, the demo site)
    browser_path: str | None = None

    def job(self, min_size: int = Job.min_width, retry_failed: bool = False) -> Job:
        label = self.label if self.label is not None else slugify(self.query)
        check_label(label)
        return Job(self.query, label, self.engine, self.limit, min_size, min_size, retry_failed)


@dataclass(frozen=True)
class Candidates:
    """A search written as a URL list for img2dataset (`collect --urls-only`)."""

    query: str
    label: str
    engine: str
    candidates: int
    path: str
    stopped: str | None


def collect(
    data_dir: Path,
    search: Search,
    settings: DownloadSettings | None = None,
    min_size: int = Job.min_width,
    retry_failed: bool = False,
    progress: bool | None = None,
) -> Summary:
    """Search, download into the workspace's raw/<label>/, record every candidate's fate.

    Raises `CollectStopped` (its `summary` says what was done) when the job stops early.
    """
    job = search.job(min_size, retry_failed)
    with Bars(progress) as bars:
        bar = bars.add(job.label, total=job.limit)

        def update(s: Summary) -> None:
            note = (
                f"found {s.found + s.resumed} · dup {s.duplicate} · filtered {s.filtered} · failed {s.failed}"
            )
            bar.update(completed=s.ok, note=note)

        summary = aio.run(
            collect_job(
                job, data_dir, settings or DownloadSettings(), search.endpoint, search.browser_path, update
            )
        )
    if summary.error:
        raise CollectStopped(summary)
    return summary


def candidates(out: Path, search: Search, settings: DownloadSettings | None = None) -> Candidates:
    """Write the search's candidates as Parquet in img2dataset's input layout; download nothing."""
    job = search.job()
    count, stopped = aio.run(
        candidate_list(job, out, settings or DownloadSettings(), search.endpoint, search.browser_path)
    )
    return Candidates(search.query, job.label, job.engine, count, str(out), stopped)
