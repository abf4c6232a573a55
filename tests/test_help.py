"""Every command's --help is complete, and the shared options read the same everywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from importlib.metadata import distribution

import pytest
import typer.main

from collector.cli import app as collect_app
from curation.cli import app as curate_app
from tests import documented
from trainer.cli import evaluate_app, export_model_app, predict_app, serve_app, train_app

APPS = {
    "collect": collect_app,
    "curate": curate_app,
    "train": train_app,
    "evaluate": evaluate_app,
    "predict": predict_app,
    "export-model": export_model_app,
    "serve": serve_app,
}


def _commands():
    for name, app in APPS.items():
        command = typer.main.get_command(app)
        subcommands = getattr(command, "commands", None)
        if subcommands:
            yield from ((f"{name} {sub}", c) for sub, c in subcommands.items())
        else:
            yield name, command


COMMANDS = dict(_commands())


def _options(command) -> dict:
    return {p.opts[0]: p for p in command.params if p.param_type_name == "option"}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_option_is_explained_and_data_json_are_shared(name):
    command = COMMANDS[name]
    assert command.help, f"{name} has no help text"
    options = _options(command)
    assert {"--data", "--json"} <= set(options), f"{name} lacks --data or --json"
    reference = _options(COMMANDS["collect"])
    for shared in ("--data", "--json"):
        assert options[shared].help == reference[shared].help, (name, shared)
    for param in command.params:
        assert param.help, f"{name}: {param.name} has no help"


@pytest.mark.parametrize(
    "module,entry,args",
    [("collector.cli", "main", []), ("curation.cli", "main", ["review"]), ("trainer.cli", "train_main", []),
     ("trainer.cli", "evaluate_main", []), ("trainer.cli", "predict_main", []), ("trainer.cli", "export_model_main", []),
     ("trainer.cli", "serve_main", [])],
)  # fmt: skip
def test_help_runs_as_a_user_types_it(module, entry, args):
    result = subprocess.run(
        [sys.executable, "-c", f"import {module} as m; m.{entry}()", *args, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr
    assert "--data" in result.stdout and "--json" in result.stdout and "Traceback" not in result.stderr


SCRIPTS = sorted(e.name for e in distribution("happysad").entry_points if e.group == "console_scripts")


def test_the_command_names_include_the_model_export_under_its_own_name():
    assert "export-model" in SCRIPTS and "export" not in SCRIPTS, SCRIPTS


@pytest.mark.parametrize("name", SCRIPTS)
def test_no_command_is_owned_by_the_shell_or_a_common_tool(name):
    """`export` is a builtin of every POSIX shell: typed as a command it never ran ours. bash says
    what a name is before our venv is on PATH: nothing, or the name is taken."""
    result = subprocess.run(
        ["bash", "-c", f"type -t {name}"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": documented.SYSTEM_PATH},
    )
    assert result.stdout.strip() == "", f"{name} is a {result.stdout.strip()} in bash"


def test_readme_serve_lines_run_as_typed_in_bash(tmp_path):
    """`serve` and the README's curl lines, on the shipped model, with the port a free one."""
    from tests.conftest import _free_port
    from tests.trainer_data import face

    for name, mood in (("photo.jpg", "happy"), ("a.jpg", "happy"), ("b.jpg", "sad")):
        face(7, mood, 160).convert("RGB").save(tmp_path / name)
    port = str(_free_port())
    (serve_line,) = documented.lines("serve")
    typed = serve_line.replace("runs/latest", "prior --port " + port)
    server = subprocess.Popen(
        ["bash", "-c", f"exec {typed}"],
        cwd=tmp_path,
        env=documented.ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        answers = []
        for line in documented.lines("curl"):
            if "8000" not in line:
                continue  # TensorFlow Serving's, not ours
            typed = line.replace("8000", port)
            for _ in range(480):  # the server loads TensorFlow and the model first
                done = documented.typed(typed, tmp_path, timeout=300)
                if done.returncode != 7:  # curl: could not connect (not up yet)
                    break
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                time.sleep(0.5)
            assert done.returncode == 0, (typed, done.stderr)
            answers.append(json.loads(done.stdout))
    finally:
        server.terminate()
        server.wait(timeout=60)
    health, one, several = answers[-1], answers[0], answers[1]
    assert health["ok"] and {"label", "probability", "faces"} <= set(one)
    assert [answer["path"] for answer in several] == ["a.jpg", "b.jpg"]
