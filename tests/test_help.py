"""Every command's --help is complete, and the shared options read the same everywhere."""

from __future__ import annotations

import os
import subprocess
import sys
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
