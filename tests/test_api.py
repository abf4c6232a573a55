"""happysad from Python: the public API end to end in this process, and the same steps through
the command line giving the same JSON (real Chromium on the loopback fixture site, real
TensorFlow; the review's FiftyOne is the notebook test's, tests/test_notebook.py)."""

from __future__ import annotations

import asyncio
import doctest
import json
import subprocess
import sys
from pathlib import Path

import pytest

import happysad
from collector.downloader import DownloadSettings
from happysad.common.errors import UsageError, WorkspaceError
from happysad.common.jsonable import plain
from tests.conftest import LiveSite, curate_json, run_collect
from tests.trainer_data import make_tree, run_json

pytestmark = pytest.mark.timeout(600)

LOOPBACK = DownloadSettings(allow_private=True)  # the fixture site is on loopback
CHANGES_EACH_RUN = ("elapsed", "data_dir", "seconds", "images_per_second", "run")


def _same(api: dict, cli: dict) -> None:
    """The API's dataclass and the command's --json carry the same fields and values."""
    assert set(api) == set(cli), set(api) ^ set(cli)
    for key in set(api) - set(CHANGES_EACH_RUN):
        assert json.loads(json.dumps(api[key], default=str)) == cli[key], key


def test_importing_happysad_or_a_command_loads_no_heavy_library():
    """Neither TensorFlow, FiftyOne nor scikit-learn: `import happysad` is instant, and a command
    that prints --help or refuses a bad argument answers in a fraction of a second."""
    heavy = "[m for m in ('tensorflow', 'keras', 'fiftyone', 'sklearn', 'scipy.stats') if m in sys.modules]"
    code = (
        "import sys, time; t = time.perf_counter(); import happysad; "
        "happysad.Workspace, happysad.load, happysad.train, happysad.Model; "
        f"print(time.perf_counter() - t); print({heavy}); "
        f"import collector.cli, curation.cli, trainer.cli; print({heavy})"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    seconds, heavy_api, heavy_commands = done.stdout.splitlines()
    assert heavy_api == heavy_commands == "[]", (heavy_api, heavy_commands)
    print(f"import happysad and its public names: {float(seconds):.3f} s")


def test_collect_from_inside_a_running_event_loop_as_in_jupyter(live: LiveSite, tmp_path):
    """A notebook's kernel runs an event loop, where asyncio.run refuses to start."""
    ws = happysad.Workspace(tmp_path / "api", progress=False)

    async def in_a_cell():
        return ws.collect(
            "happy people", label="happy", limit=12, endpoint=f"{live.url}/images/search", settings=LOOPBACK
        )

    summary = asyncio.run(in_a_cell())
    done = run_collect(
        "happy people",
        "--label",
        "happy",
        "--limit",
        "12",
        "--endpoint",
        f"{live.url}/images/search",
        "--json",
        data=tmp_path / "cli",
    )
    assert done.returncode == 0, done.stderr
    assert summary.ok == 12
    _same(summary.as_dict(), json.loads(done.stdout))


def test_curate_steps_give_what_the_commands_print(tmp_path):
    root = make_tree(tmp_path / "tree", per_label=12)
    ws = happysad.Workspace(tmp_path / "api", progress=False)
    other = tmp_path / "cli"
    _same(plain(ws.import_folder(root)), curate_json("import", str(root), data=other))
    _same(plain(ws.scan()), curate_json("scan", data=other))
    _same(plain(ws.dedupe()), curate_json("dedupe", data=other))
    exported = ws.export()
    _same(plain(exported), curate_json("export", data=other) | {"out": exported.out})
    on_disk = [p for p in ws.curated.rglob("*.jpg")]
    assert exported.exported == len(on_disk) > 0 and set(exported.per_label) == {"happy", "sad"}
    assert (ws.curated / "manifest.csv").is_file()
    assert ws.status()["labels"] == curate_json("status", data=other)["labels"]


def test_train_predict_evaluate_through_the_api_match_the_commands(tmp_path):
    tree = make_tree(tmp_path / "tree", per_label=30)
    model = happysad.train(
        tree, out=tmp_path / "runs" / "api", arch="seed", epochs=1, image_size=32, progress=False
    )
    cli = run_json(
        "train",
        str(tree),
        "--out",
        str(tmp_path / "runs" / "cli"),
        "--arch",
        "seed",
        "--epochs",
        "1",
        "--image-size",
        "32",
    )
    assert model.result is not None and model.path == Path(model.result.run)
    for key in ("labels", "counts", "epochs_run", "read_by"):
        assert json.loads(json.dumps(getattr(model.result, key))) == cli[key], key
    pictures = sorted(str(p) for p in (tree / "happy").iterdir())[:3]
    by_api = [plain(p) for p in model.predict(pictures)]
    assert by_api == run_json("predict", str(model.path), *pictures)
    assert model.evaluate(tree)["n"] == run_json("evaluate", str(model.path), str(tree))["n"] == 60
    exported = model.export(tmp_path / "export", format="tflite")
    assert (Path(exported.out) / "model.tflite").is_file() and exported.bytes > 0


def test_the_api_raises_typed_errors_never_exits(tmp_path):
    with pytest.raises(WorkspaceError, match="no workspace"):
        happysad.Workspace(tmp_path / "missing").scan()
    with pytest.raises(UsageError, match="no option 'epoch'"):
        happysad.train(tmp_path, epoch=3)
    with pytest.raises(happysad.common.errors.HappysadError, match="not a training run"):
        happysad.load(tmp_path)


def test_the_examples_in_the_docstrings_hold():
    from happysad import api
    from happysad.common import aio, jsonable, progress
    from trainer import config

    for module in (happysad, api, aio, jsonable, progress, config):
        result = doctest.testmod(module)
        assert result.failed == 0, module.__name__
    assert doctest.testmod(api).attempted >= 2  # not every example is skipped
