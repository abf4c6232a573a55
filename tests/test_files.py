"""happysad.common.files: a folder built beside its target and swapped in, whatever moment a run dies at."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from happysad.common.files import fresh_folder, recover_folder, write_atomic


def _listing(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


def _old_export(tmp_path: Path) -> Path:
    target = tmp_path / "curated"
    with fresh_folder(target) as building:
        (building / "happy").mkdir()
        (building / "happy" / "a.jpg").write_text("old a")
        (building / "manifest.csv").write_text("old")
    return target


def test_a_failed_build_leaves_the_old_folder_and_no_debris(tmp_path: Path):
    target = _old_export(tmp_path)
    with pytest.raises(RuntimeError), fresh_folder(target) as building:
        (building / "sad").mkdir()
        (building / "sad" / "b.jpg").write_text("new b")
        raise RuntimeError("disk full halfway")
    assert _listing(target) == {"happy/a.jpg": "old a", "manifest.csv": "old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curated"]


def test_a_finished_build_replaces_the_folder_whole(tmp_path: Path):
    target = _old_export(tmp_path)
    with fresh_folder(target) as building:
        (building / "sad").mkdir()
        (building / "sad" / "b.jpg").write_text("new b")
    assert _listing(target) == {"sad/b.jpg": "new b"}  # nothing of the old one is mixed in
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curated"]


SCRIPT = """
import os, signal, sys
from pathlib import Path
from happysad.common.files import fresh_folder
target, stage = Path(sys.argv[1]), sys.argv[2]
with fresh_folder(target) as building:
    (building / "sad").mkdir()
    (building / "sad" / "b.jpg").write_text("new b")
    if stage == "building":
        os.kill(os.getpid(), signal.SIGKILL)
    target.rename(target.with_name(".curated.old"))  # the swap's first rename, then death
    os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.parametrize("stage", ["building", "between the renames"])
def test_sigkill_at_any_moment_leaves_old_or_new_never_a_mix(tmp_path: Path, stage: str):
    target = _old_export(tmp_path)
    died = subprocess.run([sys.executable, "-c", SCRIPT, str(target), stage], cwd=Path(__file__).parents[1])
    assert died.returncode == -9
    recover_folder(target)  # what the next export (and nothing else) does first
    assert _listing(target) == {"happy/a.jpg": "old a", "manifest.csv": "old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".curated.lock", "curated"]  # a dead one's lock
    with fresh_folder(target) as building:  # held by nobody: the next build takes it, then removes it
        (building / "c.jpg").write_text("c")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curated"]


def test_write_atomic_replaces_whole_and_leaves_no_staging(tmp_path: Path):
    target = tmp_path / "sub" / "config.json"
    write_atomic(target, "one")
    write_atomic(target, b"two", durable=True)
    assert target.read_text() == "two" and sorted(p.name for p in target.parent.iterdir()) == ["config.json"]
