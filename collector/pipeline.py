"""reader → downloader → writer, with a manifest row recording every candidate's fate.

The reader is any async iterable of candidates (an engine's reads, or a plain list); the
downloader fetches and checks; the writer stores unique bytes once. The run stops when
`limit` new, valid, unique images are stored for the label, and continues where an earlier
run stopped: unfinished rows first, known URLs skipped. A candidate is pulled only while the
images stored and those in hand are fewer than the limit, so an engine reads (scrolls, starts
a browser) only as far as the job needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterable, Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from playwright.async_api import Error as PlaywrightError

from collector.downloader import Downloader, Fetched, FetchProblem, FetchRefused
from collector.engines.base import Candidate
from collector.errors import CollectError
from collector.manifest import Manifest, Row, Stored
from collector.store import RawStore
from happysad.common.errors import first_line
from happysad.common.images import ImageInfo, ImageRejected, inspect_image
from happysad.common.workspace import raw_path


@dataclass
class Job:
    query: str
    label: str
    engine: str
    limit: int = 100
    min_width: int = 64
    min_height: int = 64
    retry_failed: bool = False


@dataclass
class Summary:
    query: str
    label: str
    engine: str
    limit: int
    data_dir: str
    found: int = 0
    resumed: int = 0
    skipped: int = 0
    ok: int = 0
    duplicate: int = 0
    filtered: int = 0
    failed: int = 0
    thumbnails: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["reasons"] = dict(self.reasons.most_common())
        return out


# What lifts the commonest refusals (parts of the reason strings the downloader records).
LIFTED_BY = {
    "address refused": "--allow-private",
    "robots.txt": "--ignore-robots",
    "X-Robots-Tag": "--ignore-robots",
    "too small": "--min-size",
    "too large": "--max-bytes",
    "timeout": "--timeout",
}


def nothing_stored(summary: Summary) -> str:
    """Why a run ended with no image of its query in the workspace, and what to do about it."""
    found = f"no image of {summary.query!r} ({summary.label}) stored"
    if not summary.reasons:
        return found
    reason, count = summary.reasons.most_common(1)[0]
    lifted = next((option for key, option in LIFTED_BY.items() if key in reason), None)
    advice = f"; {lifted} lifts it" if lifted else ""
    return f"{found}: {count} of {summary.reasons.total()} candidates {reason}{advice}"


class Rejected(Exception):
    """A candidate yielded no image: `status` for the manifest, `key` for counting reasons,
    `attempts` the requests it took."""

    def __init__(self, status: str, key: str, reason: str, attempts: int) -> None:
        super().__init__(reason)
        self.status = status
        self.key = key
        self.reason = reason
        self.attempts = attempts


class BadImage(FetchProblem):
    """The bytes came, but are no usable image (happysad.common.images' reason): worth the thumbnail."""

    status = "filtered"


def _key(problem: FetchProblem) -> str:
    """The short form reasons are counted by: 'http 404', 'corrupt image', 'too large'."""
    return problem.reason.split(" (")[0]


class Pipeline:
    def __init__(
        self,
        job: Job,
        manifest: Manifest,
        store: RawStore,
        downloader: Downloader,
        on_update: Callable[[Summary], None] | None = None,
    ) -> None:
        self.job = job
        self.manifest = manifest
        self.store = store
        self.downloader = downloader
        self.on_update = on_update or (lambda summary: None)
        self.summary = Summary(job.query, job.label, job.engine, job.limit, str(manifest.data_dir))
        # staging writes run in threads, which cancelling a worker does not stop: the run waits
        # for these before clearing .tmp/, or a file staged just after the clear-up would stay
        self._staging: set[asyncio.Task[Path]] = set()
        self._in_hand = 0  # rows queued or being handled; with summary.ok, what may yet be stored
        self._room = asyncio.Condition()

    async def run(self, candidates: AsyncIterable[Candidate]) -> Summary:
        started = time.monotonic()
        self.store.clear_staging()
        self.manifest.reconcile()
        workers_count = max(1, self.downloader.settings.concurrency)
        queue: asyncio.Queue[Row | None] = asyncio.Queue(maxsize=workers_count)
        stop = asyncio.Event()  # the limit is reached, or a worker failed

        producer = asyncio.create_task(self._produce(candidates, queue, workers_count))
        workers = [asyncio.create_task(self._work(queue, stop)) for _ in range(workers_count)]
        stopper = asyncio.create_task(stop.wait())
        everyone = asyncio.gather(*workers, return_exceptions=True)
        try:
            await asyncio.wait([stopper, everyone], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (producer, stopper, *workers):
                task.cancel()
            outcomes = await asyncio.gather(producer, stopper, *workers, return_exceptions=True)
            await asyncio.gather(*self._staging, return_exceptions=True)
            self.store.clear_staging()  # what workers stopped at --limit had staged (the lock is ours)
            if hasattr(candidates, "aclose"):
                with contextlib.suppress(Exception):
                    await candidates.aclose()
        for outcome in outcomes:
            if isinstance(outcome, CollectError):
                self.summary.error = str(outcome)
            elif isinstance(outcome, Exception):
                raise outcome  # a bug, not an expected failure
        s = self.summary
        if not (s.error or s.found or s.resumed or s.skipped):
            s.error = f"{s.engine} found no images for {s.query!r}"
        elif not (s.error or s.ok or self.manifest.has_images(self.job.label, self.job.query)):
            s.error = nothing_stored(s)
        self.summary.elapsed = round(time.monotonic() - started, 3)
        self.on_update(self.summary)
        return self.summary

    async def _produce(
        self, candidates: AsyncIterable[Candidate], queue: asyncio.Queue[Row | None], workers: int
    ) -> None:
        job, summary = self.job, self.summary
        resumed: set[str] = set()
        named: set[str] = set()  # a reader may name a URL again (the page engine reads a page twice)
        try:
            for row in self.manifest.unfinished(job.label, job.query, job.retry_failed):
                resumed.add(row.url)
                summary.resumed += 1
                self._in_hand += 1
                await queue.put(row)
            reader = aiter(candidates)
            while True:
                async with self._room:  # a candidate is pulled only when the job could use it
                    await self._room.wait_for(lambda: summary.ok + self._in_hand < job.limit)
                try:
                    candidate = await anext(reader)
                except StopAsyncIteration:
                    break
                if candidate.url in named:
                    continue
                named.add(candidate.url)
                if candidate.url in resumed:
                    continue
                row = self.manifest.add(job.query, job.label, job.engine, len(named), candidate)
                if row is None:
                    summary.skipped += 1
                    continue
                summary.found += 1
                self.on_update(summary)
                self._in_hand += 1
                await queue.put(row)
        except CollectError as exc:
            summary.error = str(exc)
        except sqlite3.Error as exc:
            summary.error = self._disk_message(exc)
        except PlaywrightError as exc:
            summary.error = f"{job.engine}: the browser failed ({first_line(exc)})"
        for _ in range(workers):  # not in `finally`: a cancelled producer must not block here
            await queue.put(None)

    async def _work(self, queue: asyncio.Queue[Row | None], stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                row = await queue.get()
                if row is None:
                    return
                await self._handle(row)
                if self.summary.ok >= self.job.limit:
                    stop.set()
                async with self._room:
                    self._in_hand -= 1
                    self._room.notify_all()
        except Exception:
            stop.set()
            raise

    async def _check(self, url: str) -> tuple[Fetched, ImageInfo]:
        fetched = await self.downloader.fetch(url)
        try:
            info = await asyncio.to_thread(
                inspect_image, fetched.content, min_width=self.job.min_width, min_height=self.job.min_height
            )
        except ImageRejected as exc:
            raise BadImage(exc.reason, fetched.attempts) from exc
        return fetched, info

    async def _acquire(self, row: Row) -> tuple[Fetched, ImageInfo, str | None]:
        """Fetch and check the full image; fall back to the thumbnail when that fails."""
        try:
            fetched, info = await self._check(row.url)
            return fetched, info, None
        except FetchProblem as exc:
            if isinstance(exc, FetchRefused) or not row.thumb_url or exc.reason == "too small":
                raise Rejected(exc.status, _key(exc), str(exc), exc.attempts) from exc
            try:
                fetched, info = await self._check(row.thumb_url)
            except FetchProblem as second:
                reason = f"{exc}; thumbnail: {second}"
                raise Rejected(exc.status, _key(exc), reason, exc.attempts + second.attempts) from second
            return fetched, info, f"thumbnail; full image: {exc}"

    async def _handle(self, row: Row) -> None:
        staged: Path | None = None
        try:
            try:
                fetched, info, note = await self._acquire(row)
                staging = asyncio.create_task(asyncio.to_thread(self.store.stage, fetched.content))
                self._staging.add(staging)
                staging.add_done_callback(self._staging.discard)
                staged = await asyncio.shield(staging)  # a cancelled worker leaves it to finish
                self._write(row, fetched, info, note, staged)
            except Rejected as rejection:
                self._reject(row, rejection)
        except (OSError, sqlite3.Error) as exc:
            if staged is not None:
                staged.unlink(missing_ok=True)
            raise CollectError(self._disk_message(exc)) from exc
        self.on_update(self.summary)

    def _reject(self, row: Row, rejection: Rejected) -> None:
        self.manifest.finish(row.id, rejection.status, rejection.reason, rejection.attempts)
        setattr(self.summary, rejection.status, getattr(self.summary, rejection.status) + 1)
        self.summary.reasons[rejection.key] += 1

    def _write(self, row: Row, fetched: Fetched, info: ImageInfo, note: str | None, staged: Path) -> None:
        """Store unique bytes once; runs without awaiting, as one step of the event loop."""
        summary = self.summary
        sha = self.store.digest(fetched.content)
        stored = Stored(
            sha256=sha,
            path=raw_path(self.job.label, sha, info.ext),
            width=info.width,
            height=info.height,
            format=info.format,
            bytes=len(fetched.content),
            is_thumbnail=note is not None,
            fetched_url=fetched.final_url,
            attempts=fetched.attempts,
            reason=note,
        )
        holder = self.manifest.holder_of(self.job.label, sha)
        if holder is not None or summary.ok >= self.job.limit:
            staged.unlink(missing_ok=True)
            if holder is None:
                return  # over the limit: stays pending for the next run
            reason = f"same bytes as {holder['url']}"
            self.manifest.store(row.id, "duplicate", replace(stored, path=holder["path"], reason=reason))
            summary.duplicate += 1
            summary.reasons["duplicate"] += 1
        else:
            self.manifest.store(row.id, "writing", stored)
            self.store.publish(staged, stored.path)
            self.manifest.mark_ok(row.id)
            summary.ok += 1
            summary.thumbnails += note is not None

    def _disk_message(self, exc: OSError | sqlite3.Error) -> str:
        full = isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
        if full or "full" in str(exc):
            return f"disk full writing to {self.manifest.data_dir}; free some space and rerun to resume"
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return f"cannot write to {self.manifest.data_dir}: {detail}"
