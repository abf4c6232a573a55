"""The tutorial notebook, executed as a reader runs it (a real Jupyter kernel, real Chromium on
the demo search engine, a real mongod, real TensorFlow), on fewer pictures than its defaults."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import _free_port

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "happy-vs-sad.ipynb"
SLOWEST_SECONDS = 100  # measured: 96 s alone on the 2-core AVX2-only EPYC
pytestmark = [pytest.mark.browser, pytest.mark.timeout(6 * SLOWEST_SECONDS)]


def _text(cell) -> str:
    return "".join(
        o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in cell.get("outputs", [])
    )


def test_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    assert all(
        not c.get("outputs") and c.get("execution_count") is None
        for c in notebook.cells
        if c.cell_type == "code"
    )


def test_the_notebook_runs_the_loop_and_ends_with_honest_figures(tmp_path, fiftyone_env, monkeypatch):
    for key, value in {
        **fiftyone_env,
        "HAPPYSAD_NB_LIMIT": "20",
        "HAPPYSAD_NB_HOLDOUT": "8",
        "HAPPYSAD_NB_EPOCHS": "2",
        "HAPPYSAD_NB_DATA": str(tmp_path),
        "HAPPYSAD_NB_APP_PORT": str(_free_port()),
    }.items():
        monkeypatch.setenv(key, value)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=5 * SLOWEST_SECONDS,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # a cell that raises fails here, with the cell and its traceback
    text = "\n".join(_text(c) for c in notebook.cells if c.cell_type == "code")
    for model in ("seed CNN", "default", "prior alone"):
        assert any(line.startswith(model) and "[" in line for line in text.splitlines()), model
    figures = [o for c in notebook.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(figures) == 3  # the curves, the confusion matrices, the predicted faces
    assert (tmp_path / "data" / "curated" / "manifest.csv").is_file()
    assert os.listdir(tmp_path / "data" / "runs") and (tmp_path / "holdout" / "curated").is_dir()
