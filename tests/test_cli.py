"""The command line contract: exit codes, one-line errors, --json, --urls-only."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import LiveSite, raw_files, run_collect

pytestmark = pytest.mark.browser


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("collect: error:")
    return lines[0]


def test_missing_browser_says_how_to_install_one(tmp_path: Path):
    result = run_collect("happy people", "--browser-path", "/nonexistent/chromium", data=tmp_path)
    line = _one_line_error(result)
    assert "apt-get install chromium" in line and "playwright install chromium" in line
    assert result.stdout == ""


def test_browser_that_will_not_start_is_one_line(tmp_path: Path):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    line = _one_line_error(run_collect("x", "--browser-path", str(fake), data=tmp_path / "d"))
    assert "could not start the browser" in line


def test_json_prints_one_object_and_nothing_else(live: LiveSite, tmp_path: Path):
    result = run_collect(
        "happy people",
        "--label",
        "happy",
        "--limit",
        "3",
        "--json",
        "--endpoint",
        f"{live.url}/images/search",
        data=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["ok"] == 3 and summary["label"] == "happy" and summary["engine"] == "bing"
    assert set(summary) >= {"found", "duplicate", "filtered", "failed", "reasons", "elapsed", "data_dir"}


def test_human_output_ends_with_a_summary_table(live: LiveSite, tmp_path: Path):
    result = run_collect(
        "happy people", "--limit", "2", "--endpoint", f"{live.url}/images/search", data=tmp_path
    )
    assert result.returncode == 0
    assert "outcome" in result.stdout and "duplicate" in result.stdout
    assert len(raw_files(tmp_path)) == 2
    assert (tmp_path / "raw" / "happy-people").is_dir()  # default label: slug of the query


def test_no_results_is_an_error_not_silence(live: LiveSite, tmp_path: Path):
    line = _one_line_error(run_collect("nothing", "--endpoint", f"{live.url}/images/search", data=tmp_path))
    assert "found no images for 'nothing'" in line


@pytest.mark.parametrize(
    "args",
    [["x", "--engine", "altavista"], ["x", "--limit", "0"], ["x", "--label", "../etc"], []],
)
def test_bad_usage_exits_2(tmp_path: Path, args: list[str]):
    result = run_collect(*args, data=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_urls_only_writes_img2dataset_input(live: LiveSite, tmp_path: Path):
    out = tmp_path / "candidates.parquet"
    result = run_collect(
        "happy people",
        "--label",
        "happy",
        "--limit",
        "45",
        "--urls-only",
        str(out),
        "--endpoint",
        f"{live.url}/images/search",
        data=tmp_path / "ws",
    )
    assert result.returncode == 0, result.stderr
    table = pq.read_table(out).to_pylist()
    assert len(table) == 45
    assert {"url", "caption", "label", "page_url"} <= set(table[0])
    assert table[0]["url"] == f"{live.url}/img/ok-0.jpg" and table[0]["label"] == "happy"
    assert not (tmp_path / "ws" / "raw").exists() or raw_files(tmp_path / "ws") == []


@pytest.mark.skipif(shutil.which("mount") is None, reason="needs mount")
def test_full_disk_is_one_line_and_leaves_whole_files(live: LiveSite, tmp_path: Path):
    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(small)]).returncode:
        pytest.skip("cannot mount a small tmpfs here (not root?)")
    try:
        result = run_collect("fill", "--limit", "130", "--endpoint", f"{live.url}/images/search", data=small)
        line = _one_line_error(result)
        assert "disk full" in line and "rerun to resume" in line
        for f in raw_files(small):
            assert f.stat().st_size > 0 and f.read_bytes()[-2:] == b"\xff\xd9"  # whole JPEGs only
    finally:
        subprocess.run(["umount", str(small)])


def test_a_second_collect_on_a_busy_workspace_fails_naming_the_holder(live: LiveSite, tmp_path: Path):
    """Its start-up clean-up would otherwise delete the running collect's staged files."""
    import os

    from happysad.common.workspace import exclusive

    staged = tmp_path / ".tmp" / "stage-running"
    staged.parent.mkdir(parents=True)
    staged.write_bytes(b"half a download")
    with exclusive(tmp_path, "collect"):
        line = _one_line_error(run_collect("x", "--endpoint", f"{live.url}/images/search", data=tmp_path))
    assert f"pid {os.getpid()} is already running `collect`" in line
    assert staged.exists()  # the running collect's file was left alone
    again = run_collect(
        "happy people", "--limit", "2", "--endpoint", f"{live.url}/images/search", data=tmp_path
    )
    assert again.returncode == 0, again.stderr  # the lock went with its holder
    assert not list((tmp_path / ".tmp").glob("stage-*"))  # nor do staged files outlive a run that hit --limit
