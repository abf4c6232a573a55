"""`serve`: a run's model over HTTP, built for load.

POST /predict takes one image (the raw body, or a multipart field `image`) and answers what
`predict --json` answers for one picture; several `image` fields get a list. GET /healthz says
which run is served; GET / is a page where photos are dropped and read.

Requests are decoded (and their faces found) in worker threads, off the event loop; the
model's inputs from concurrent requests are scored together, a batch at a time (`Batcher`):
one model call for many requests, not one each. At most `--queue` images are in the house at
once (`Server.admitted`); a request beyond that is answered 503 with Retry-After at once
instead of waiting without limit. Bad input gets a JSON error:
415 not an image, 413 too large (bytes or pixels), 400 nothing sent, 408 a client too slow.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import aiohttp
import numpy as np
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from happysad.common.decoder import in_tf_format, readable, refusals
from happysad.common.errors import first_line
from happysad.common.images import NOT_IMAGE, UPRIGHT_TURNS, ImageRejected, orientation, upright
from trainer import data
from trainer.predict import FACES, WHOLE_FRAME, Prediction, decide
from trainer.run import Run
from trainer.serve_page import PAGE

MAX_BYTES = 20 * 2**20  # --max-bytes: one upload


@dataclass(frozen=True)
class Settings:
    max_bytes: int = MAX_BYTES
    # inputs scored in one model call: a whole-frame run at 32 clients answered 78 to 86 a second
    # at 16 (three runs), 85 at 8, 77 at 32
    max_batch: int = 16
    batch_wait: float = 0.005  # seconds the first input of a batch waits for company
    queue: int = 256  # images in the house at most (decoding, waiting, scored); beyond, 503
    readers: int = os.cpu_count() or 2  # pictures decoded and searched for faces at once: one a core
    # the longest a picture waits for a reader; beyond, 503. Long enough to answer a burst rather
    # than shed it: a face run on 2 AVX2-only cores reads about 5 pictures a second, so 16 at once
    # wait up to about 3 s and 128 about 25 s; --queue bounds the house, not this wait
    max_wait: float = 30.0
    read_timeout: float = 30.0  # seconds a client may take to send its request


class Busy(Exception):
    """No room for a request's images, or no reader for them in time: answered 503, Retry-After."""


class BadUpload(Exception):
    """An upload that cannot be read: its HTTP status and a short reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Batcher:
    """Inputs from concurrent requests scored together: the first waits up to `batch_wait` for
    others, then up to `max_batch` go to the model in one call (in a thread)."""

    def __init__(self, score: Callable[[np.ndarray], np.ndarray], settings: Settings) -> None:
        self._score = score
        self._settings = settings
        # unbounded here: Server.admitted bounds the images in the house, decoding and waiting alike
        self._queue: asyncio.Queue[tuple[np.ndarray, asyncio.Future]] = asyncio.Queue()
        self._task: asyncio.Task | None = None
        self.calls = 0  # model calls made, for /healthz and the benchmark

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def score(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        loop = asyncio.get_running_loop()
        futures = []
        for item in inputs:
            future = loop.create_future()
            self._queue.put_nowait((item, future))
            futures.append(future)
        return list(await asyncio.gather(*futures))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            until = loop.time() + self._settings.batch_wait
            while len(batch) < self._settings.max_batch:
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), max(0.0, until - loop.time())))
                except TimeoutError:
                    break
            try:
                scores = await asyncio.to_thread(self._score, np.stack([item for item, _ in batch]))
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.calls += 1
            for (_, future), score in zip(batch, scores, strict=True):
                if not future.done():
                    future.set_result(score)


def model_scores(run: Run, model) -> Callable[[np.ndarray], np.ndarray]:
    """A batch of inputs → model outputs, mirror-averaged as `predict` scores them."""
    import tensorflow as tf

    flip = bool(run.config.flip_tta)
    shape = (None, run.config.image_size, run.config.image_size, run.channels)

    # one traced graph for every batch size: a mixed-precision model called eagerly spends
    # over a third of its time outside the arithmetic (a whole-frame batch of 16, mirrored,
    # alone on 2 cores: 203 ms eager, 127 ms traced; XLA's jit_compile was slower, 268 ms)
    @tf.function(input_signature=[tf.TensorSpec(shape, tf.float32)])
    def forward(batch):
        if not flip:
            return model(batch, training=False)
        # the images and their mirror images in one call: one pass over the weights
        both = model(tf.concat([batch, tf.image.flip_left_right(batch)], 0), training=False)
        n = tf.shape(batch)[0]
        return (both[:n] + both[n:]) / 2

    def score(batch: np.ndarray) -> np.ndarray:
        out = forward(batch).numpy()
        return out.ravel() if out.shape[-1] == 1 else out

    return score


def model_inputs(run: Run) -> Callable[[bytes, int, bool], np.ndarray]:
    """Encoded bytes, EXIF's quarter turns and mirror → the model's input (`data.model_input`),
    traced once: called eagerly, its seven small ops a picture took as much of the readers'
    time as the decoding (py-spy, a whole-frame run at 16 clients)."""
    import tensorflow as tf

    channels, size = run.channels, run.config.image_size
    spec = [tf.TensorSpec([], tf.string), tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.bool)]
    prepare = tf.function(
        lambda raw, turns, mirror: data.model_input(raw, channels, size, turns, mirror), input_signature=spec
    )
    return lambda raw, turns, mirror: prepare(
        tf.constant(raw), tf.constant(turns), tf.constant(mirror)
    ).numpy()


class Server:
    """The run, its model behind a Batcher, and the faces reader for face runs."""

    def __init__(self, run: Run, settings: Settings, faces: bool) -> None:
        self.run = run
        self.settings = settings
        self.faces = faces
        self.read_by = FACES if faces else WHOLE_FRAME
        self.batcher = Batcher(model_scores(run, run.load_model()), settings)
        self._prepare = model_inputs(run)
        self.in_house = 0  # images admitted and not yet answered
        # pictures decoded (and searched for faces) at once: the cores' worth; the model's
        # inputs from all of them are still scored together
        self._readers = asyncio.Semaphore(settings.readers)
        # their own threads, as many as readers: a face detector is built (and traced) once a
        # thread, so pictures are read by the same few threads, not the loop's default pool
        self._reading = ThreadPoolExecutor(settings.readers, thread_name_prefix="serve-reader")
        if faces:
            from trainer.face_scoring import settings as face_settings

            self.how = face_settings(run)
            self.detector = self.how.make_detector()

    def _inputs(self, raw: bytes) -> tuple[list[np.ndarray], list]:
        """The model's inputs for one upload (one per face on face runs) and the faces; in a thread."""
        try:
            if not self.faces:
                _, img = in_tf_format(raw)
                turns, mirror = UPRIGHT_TURNS[orientation(img)]
                with refusals():  # its one decode is readable's check, made once
                    return [self._prepare(raw, turns, mirror)], []
            _, img = readable(raw)
        except ImageRejected as exc:
            status = 413 if exc.reason == "decompression bomb" else 415
            raise BadUpload(status, str(exc) if exc.reason not in NOT_IMAGE else exc.reason) from None
        from happysad.faces import crops
        from happysad.faces.images import for_detection
        from trainer.face_scoring import crop_tensor

        picture = upright(img).convert("RGB")
        faces = self.detector.detect(for_detection(picture))
        cut = [(face, piece) for face, piece in crops.cuts(picture, faces, self.how) if piece is not None]
        found = [face for face, _ in cut]
        inputs = [crop_tensor(self.run, piece).numpy() for _, piece in cut]
        return inputs, found

    def close(self) -> None:
        self._reading.shutdown(wait=False, cancel_futures=True)

    @contextmanager
    def admitted(self, images: int) -> Iterator[None]:
        """Room for `images` more, or Busy: at most `settings.queue` images in the house
        (reading, waiting or scored), so a flood is answered 503 at once."""
        if self.in_house + images > self.settings.queue:
            raise Busy
        self.in_house += images
        try:
            yield
        finally:
            self.in_house -= images

    async def read(self, name: str, raw: bytes) -> Prediction:
        from trainer.face_scoring import NO_FACE_NOTE, aggregate

        try:  # a reader's turn, waited for no longer than --max-wait: else 503, not a long queue
            await asyncio.wait_for(self._readers.acquire(), self.settings.max_wait)
        except TimeoutError:
            raise Busy from None
        try:
            inputs, found = await asyncio.get_running_loop().run_in_executor(self._reading, self._inputs, raw)
        finally:
            self._readers.release()
        prediction = Prediction(name, None, None, None, None, [] if self.faces else None, self.read_by)
        if not inputs:
            prediction.error = NO_FACE_NOTE
            return prediction
        scores = await self.batcher.score(inputs)
        if self.faces:
            aggregate(self.run, prediction, list(zip(found, scores, strict=True)))
        else:
            label, per_label = decide(self.run, scores[0])
            prediction.label, prediction.probability, prediction.scores = label, per_label[label], per_label
        return prediction


def _error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


async def _form(request: web.Request, settings: Settings) -> list[tuple[str, bytes]]:
    """(name, bytes) of a multipart form's `image` fields: at most `settings.queue` of them (more
    could never be admitted at once, so they are 413, not a 503 that no retry gets past)."""
    try:  # a form without a boundary is a ValueError here
        reader = await request.multipart()
        found = []
        while (part := await reader.next()) is not None:
            if getattr(part, "name", None) != "image":
                continue
            if len(found) == settings.queue:
                raise BadUpload(413, f"over {settings.queue} images in one request (--queue)")
            body = await part.read(decode=False)
            if len(body) > settings.max_bytes:
                raise BadUpload(413, f"over {settings.max_bytes} bytes")
            found.append((part.filename or "image", bytes(body)))
    except (ValueError, AssertionError, HttpProcessingError, aiohttp.ClientPayloadError) as exc:  # unparsable
        raise BadUpload(400, f"a malformed multipart form ({first_line(exc)[:120]})") from None
    if not found:
        raise BadUpload(400, "no `image` field in the form")
    return found


async def _uploads(request: web.Request, settings: Settings) -> list[tuple[str, bytes]]:
    """(name, bytes) of each uploaded image: the body, or a form's `image` fields."""
    if request.content_type.startswith("multipart/"):
        return await _form(request, settings)
    body = await request.read()
    if len(body) > settings.max_bytes:
        raise BadUpload(413, f"over {settings.max_bytes} bytes")
    if not body:
        raise BadUpload(400, "an empty body: send the image's bytes, or a form with an `image` field")
    return [("image", body)]


def app(server: Server) -> web.Application:
    settings = server.settings

    async def predict(request: web.Request) -> web.StreamResponse:
        try:
            uploads = await asyncio.wait_for(_uploads(request, settings), settings.read_timeout)
        except BadUpload as exc:
            return _error(exc.status, exc.reason)
        except TimeoutError:
            return _error(408, f"the request took over {settings.read_timeout:.0f} s to arrive")
        except web.HTTPRequestEntityTooLarge:
            return _error(413, f"over {settings.max_bytes} bytes")
        try:
            with server.admitted(len(uploads)):
                reads = (server.read(name, raw) for name, raw in uploads)
                answers = await asyncio.gather(*reads, return_exceptions=True)
            if any(isinstance(answer, Busy) for answer in answers):
                raise Busy
        except Busy:
            return _error(503, "busy: too many images waiting; retry shortly", **{"Retry-After": "1"})
        for answer in answers:
            if isinstance(answer, BaseException) and not isinstance(answer, BadUpload):
                raise answer
        if len(answers) == 1:  # one picture: its answer, or its error with its status
            (answer,) = answers
            if isinstance(answer, BadUpload):
                return _error(answer.status, answer.reason)
            return web.json_response(asdict(answer))
        return web.json_response(
            [  # several: each its answer, or a note as `predict` gives one
                asdict(
                    Prediction(name, None, None, None, a.reason, None, server.read_by)
                    if isinstance(a, BadUpload)
                    else a
                )
                for (name, _), a in zip(uploads, answers, strict=True)
            ]
        )

    async def healthz(request: web.Request) -> web.Response:
        run = server.run
        health = {"ok": True, "run": str(run.path), "labels": run.labels, "faces": server.faces}
        return web.json_response(health | {"model_calls": server.batcher.calls})

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    @web.middleware
    async def no_tracebacks(request: web.Request, handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status == 413:
                return _error(413, f"over {settings.max_bytes} bytes")
            return _error(exc.status, exc.reason)
        except Exception as exc:  # a bug: one line on stderr, a JSON 500 to the client
            print(f"serve: error: {type(exc).__name__}: {exc}", file=sys.stderr)
            return _error(500, "internal error")

    application = web.Application(client_max_size=settings.max_bytes + 2**16, middlewares=[no_tracebacks])
    application.router.add_post("/predict", predict)
    application.router.add_get("/healthz", healthz)
    application.router.add_get("/", page)

    async def start(_: web.Application) -> None:
        server.batcher.start()

    async def stop(_: web.Application) -> None:
        await server.batcher.stop()
        server.close()

    application.on_startup.append(start)
    application.on_cleanup.append(stop)
    return application
