"""`serve`, started as a user starts it, called over loopback with aiohttp's client and its page
driven in real Chromium: answers as `predict` gives them, errors as JSON with their status
(what aiohttp cannot parse too, a line in the log each), slow clients cut off, concurrent
requests scored together, Ctrl-C an exit of 130; a busy port or a foreign address refused
before the model loads."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, NamedTuple

import aiohttp
import pytest

from tests import documented
from tests.conftest import _free_port
from tests.faces_data import scene
from tests.fixture_site import bomb_png
from tests.hostile_checks import one_line
from tests.trainer_data import face, make_tree, run_json, undecodable

# a mixed-precision (bfloat16) run's outputs move in the fourth digit with the batch a picture
# is scored in (predict scores 64 at a time, serve as many as arrive together)
CLOSE = 5e-3


class Served(NamedTuple):
    url: str
    log: IO[str]  # serve's stderr, as far as it is written

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def said(self) -> str:
        self.log.seek(0)
        return self.log.read()


@contextmanager
def serving(run: str, *options: str, line: str = "") -> Iterator[Served]:
    """`serve RUN OPTIONS` in its own process on a free loopback port, as its console script
    runs, or as `line` of the documentation typed in bash (its `runs/latest` the RUN, port and
    options); stopped with Ctrl-C (SIGINT) as a user stops it: it must exit 130 with no
    traceback in its log."""
    port = _free_port()
    args = [run, "--port", str(port), "--json", *options]
    command = [sys.executable, "-c", "from trainer.cli import serve_main; serve_main()", *args]
    if line:
        command = ["bash", "-c", "exec " + line.replace("runs/latest", " ".join(args))]
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True, env=documented.ENV)
        served = Served(f"http://127.0.0.1:{port}", log)
        try:
            first = process.stdout.readline() if process.stdout else ""  # "" if serve ended first
            started = json.loads(first) if first.strip() else {}
            assert started.get("url") == served.url, (first, served.said())  # said once it listens
            yield served
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
        assert process.returncode == 130 and "Traceback" not in served.said(), served.said()[-3000:]


def _jpeg(img) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def whole_frame(tmp_path_factory) -> tuple[Path, list[Path]]:
    base = tmp_path_factory.mktemp("serve")
    data = make_tree(base / "d", per_label=12)
    run_json(
        "train", str(data), "--out", str(base / "r"), "--arch", "seed", "--epochs", "2", "--image-size", "32"
    )
    images = []
    for n in range(12):
        images.append(base / f"new{n}.jpg")
        images[-1].write_bytes(_jpeg(face(700 + n, ("happy", "sad")[n % 2])))
    return base / "r", images


@pytest.fixture(scope="module")
def prior_served() -> Iterator[Served]:
    """`serve prior` with its defaults, typed as docs/serving.md has it: one process for the
    tests that need nothing else of it (TensorFlow, the prior and MTCNN start once: 5 s on the
    AMX Xeon, about three times that on the AVX2-only EPYC)."""
    (line,) = documented.lines("serve")
    with serving("prior", line=line) as served:
        yield served


@pytest.fixture(scope="module")
def strict_served(whole_frame) -> Iterator[Served]:
    """`serve` of the whole-frame run with small limits, shared by the tests of what it turns
    away (each serve process costs TensorFlow's start: 4 s here, about 12 s on a slow core)."""
    with serving(str(whole_frame[0]), "--max-bytes", "50000", "--queue", "2", "--timeout", "1") as served:
        yield served


async def _post(session: aiohttp.ClientSession, url: str, **kwargs) -> tuple[int, object, dict]:
    async with session.post(f"{url}/predict", **kwargs) as response:
        return response.status, await response.json(), dict(response.headers)


def test_answers_are_predicts_alone_in_a_form_and_under_load(whole_frame):
    run, images = whole_frame
    expected = {Path(p["path"]).name: p for p in run_json("predict", str(run), *map(str, images))}

    async def calls(url: str) -> None:
        async with aiohttp.ClientSession() as session:
            status, one, _ = await _post(session, url, data=images[0].read_bytes())
            assert status == 200 and one["label"] == expected[images[0].name]["label"]
            assert one["read_by"] == expected[images[0].name]["read_by"] == "whole_frame"
            assert abs(one["probability"] - expected[images[0].name]["probability"]) < CLOSE
            form = aiohttp.FormData()
            for path in images[:3]:
                form.add_field("image", path.read_bytes(), filename=path.name, content_type="image/jpeg")
            status, listed, _ = await _post(session, url, data=form)
            assert status == 200 and [a["path"] for a in listed] == [p.name for p in images[:3]]
            assert {a["read_by"] for a in listed} == {"whole_frame"}
            async with session.get(f"{url}/healthz") as response:
                before = (await response.json())["model_calls"]
            many = [images[n % len(images)] for n in range(48)]
            answers = await asyncio.gather(*(_post(session, url, data=p.read_bytes()) for p in many))
            for path, (status, answer, _) in zip(many, answers, strict=True):
                assert status == 200 and answer["label"] == expected[path.name]["label"]
                assert abs(answer["probability"] - expected[path.name]["probability"]) < CLOSE
            async with session.get(f"{url}/healthz") as response:
                calls = (await response.json())["model_calls"] - before
            assert calls < len(many)  # concurrent requests shared model calls

    with serving(str(run)) as served:
        asyncio.run(calls(served.url))


def test_bad_requests_get_json_errors_with_their_status(whole_frame, strict_served):
    _, images = whole_frame

    async def calls(url: str) -> list[tuple[int, object, dict]]:
        async with aiohttp.ClientSession() as session:
            form = aiohttp.FormData()
            form.add_field("photo", images[0].read_bytes(), filename="x.jpg")
            many = aiohttp.FormData()
            for path in images[:3]:
                many.add_field("image", path.read_bytes(), filename=path.name)
            return [
                *[await _post(session, url, data=raw) for raw in undecodable().values()],
                await _post(session, url, data=b"<!doctype html><html>403</html>"),
                await _post(session, url, data=b""),
                await _post(session, url, data=form),
                await _post(session, url, data=b"\xff\xd8\xff" + b"\0" * 60_000),  # over --max-bytes
                await _post(session, url, data=bomb_png()),
                await _post(session, url, data=many),  # three images, room for two: never admissible
            ]

    answers = asyncio.run(calls(strict_served.url))
    statuses = [status for status, _, _ in answers]
    # what Pillow reads and TensorFlow's decoder refuses: found by the one decode serve makes
    assert statuses == [415] * len(undecodable()) + [415, 400, 400, 413, 413, 413]
    assert all("undecodable by TensorFlow" in body["error"] for _, body, _ in answers[: len(undecodable())])
    assert all(set(body) == {"error"} for _, body, _ in answers)
    assert "--queue" in answers[-1][1]["error"]


def test_the_documented_curl_lines_get_their_answers(prior_served, tmp_path):
    """docs/serving.md's curl lines typed in bash, at the documented `serve` (prior_served)."""
    for name, mood in (("photo.jpg", "happy"), ("a.jpg", "happy"), ("b.jpg", "sad")):
        face(7, mood, 160).convert("RGB").save(tmp_path / name)
    answers = []
    for line in documented.lines("curl"):
        if "8000" in line:  # not TensorFlow Serving's
            done = documented.typed(line.replace("8000", str(prior_served.port)), tmp_path, timeout=300)
            assert done.returncode == 0, (line, done.stderr)
            answers.append(json.loads(done.stdout))
    one, several, health = answers
    assert health["ok"] and {"label", "probability", "faces"} <= set(one)
    assert [answer["path"] for answer in several] == ["a.jpg", "b.jpg"]


def test_a_burst_of_face_requests_is_answered_and_only_a_full_house_turned_away(prior_served):
    """16 clients at once on a face run (MTCNN: about 0.2 s a picture on a slow core) all get
    their answer by default; 503 with Retry-After is for a house past --queue."""
    bodies = [_jpeg(scene(30 + n, ("happy", "sad")[n % 2], 1, size=(480, 360))[0]) for n in range(16)]

    async def burst(url: str) -> list[tuple[int, object, dict]]:
        async with aiohttp.ClientSession() as session:
            return await asyncio.gather(*(_post(session, url, data=body) for body in bodies))

    answered = asyncio.run(burst(prior_served.url))
    assert [status for status, _, _ in answered] == [200] * 16
    assert {answer["read_by"] for _, answer, _ in answered} == {"faces"}
    with serving("prior", "--queue", "2") as crowd:
        crowded = asyncio.run(burst(crowd.url))
    turned_away = [headers for status, _, headers in crowded if status == 503]
    assert turned_away and all(h.get("Retry-After") == "1" for h in turned_away)
    assert {status for status, _, _ in crowded} <= {200, 503}


def _raw(port: int, payload: bytes, wait: float = 20) -> str:
    """What serve answers to `payload` sent as is, as text; the client sends nothing after it."""
    with socket.create_connection(("127.0.0.1", port)) as raw:
        raw.sendall(payload)
        raw.settimeout(wait)
        return raw.recv(65536).decode(errors="replace")


def test_a_client_too_slow_to_send_is_cut_off(strict_served):
    """Headers that never finish and a body that never comes: 408 after --timeout (1 s here)."""
    for payload in (
        b"POST /pre",
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: 1000\r\n\r\n\xff",
    ):
        answer = _raw(strict_served.port, payload)
        assert answer.startswith("HTTP/1.1 408") and '"error"' in answer, answer


def test_requests_aiohttp_cannot_parse_get_json_and_one_log_line_each(strict_served):
    """aiohttp answers these itself, as plain text with a traceback in the log each, unless
    serve's connection handler answers (trainer/serve_runner.JsonErrors)."""
    malformed = [
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 9000 + b"\r\n\r\n",
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
    ]
    before = strict_served.said().count("serve: 400")
    for payload in malformed:
        answer = _raw(strict_served.port, payload)
        assert " 400 " in answer.split("\r\n", 1)[0] and "application/json" in answer, answer[:300]
    assert strict_served.said().count("serve: 400") == before + len(malformed)  # logged before answered

    async def no_boundary(url: str) -> int:
        async with aiohttp.ClientSession() as session:
            headers = {"Content-Type": "multipart/form-data"}
            async with session.post(f"{url}/predict", data=b"--x\r\n", headers=headers) as response:
                return response.status

    assert asyncio.run(no_boundary(strict_served.url)) == 400


def test_the_page_shows_a_picked_photo_with_its_face_box_and_label(prior_served, tmp_path):
    from playwright.sync_api import sync_playwright

    from collector.browser import LAUNCH_ARGS, locate

    picture, _ = scene(4, "happy", 1, size=(480, 360))
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(_jpeg(picture))
    executable = locate()  # before Playwright starts: it asks Playwright too
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        try:
            page = browser.new_page()
            page.goto(prior_served.url)
            assert "happysad" in page.title()
            page.set_input_files("#files", str(photo))
            page.wait_for_selector(".result.drawn", timeout=60_000)
            result = page.locator(".result")
            assert result.get_attribute("data-label") in ("happy", "sad")
            assert int(result.get_attribute("data-faces") or 0) >= 1  # its box drawn on the photo
            assert page.locator(".result .bar").count() == 2  # a probability bar per label
            page.screenshot(path=str(tmp_path / "page.png"))
        finally:
            browser.close()


def test_serve_on_a_busy_port_says_so_before_loading_the_model(tmp_path: Path):
    """Refused before TensorFlow, the model and the face detector start (5 s on the AMX Xeon,
    about three times that on the AVX2-only EPYC): the port is the first thing serve tries."""
    loaded = tmp_path / "loaded"
    code = (
        "import atexit, sys\n"
        f"atexit.register(lambda: open({str(loaded)!r}, 'w').write(str('tensorflow' in sys.modules)))\n"
        "from trainer.cli import serve_main\nserve_main()\n"
    )
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-c", code, "prior", "--port", str(port), "--json"],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "NO_COLOR": "1"},
        )
    line = one_line(result)
    said = f"cannot listen on 127.0.0.1:{port}: address already in use; --port picks another"
    assert line == f"serve: error: {said}"
    assert json.loads(result.stdout) == {"error": line.removeprefix("serve: error: "), "exit": 1}
    assert loaded.read_text() == "False"


def test_serve_claims_only_addresses_of_this_machine_and_lets_go():
    """192.0.2.1 (TEST-NET-1, documentation only) is bound, never connected to: no packet leaves."""
    from trainer.serve_runner import claim

    with pytest.raises(OSError) as refused:
        claim("192.0.2.1", 8000)
    said = "cannot listen on 192.0.2.1:8000: cannot assign requested address; --host must be this machine's"
    assert refused.value.strerror == said  # the line serve prints (happysad.common.cli.os_error_line)
    port = _free_port()
    claim("127.0.0.1", port)
    claim("127.0.0.1", port)  # let go: the same port again, and serve's own bind after it
    with socket.create_server(("127.0.0.1", port)):  # raises if a claim still held the port
        pass
