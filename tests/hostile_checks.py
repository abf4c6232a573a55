"""What every hostile-input test checks of a command: one line and exit 1 when it refuses, no
traceback when it goes on, and raw/ byte for byte as it was."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path


def raw_digests(data: Path) -> dict[str, str]:
    """Every file under the workspace's raw/, by path, with its SHA-256."""
    return {str(p.relative_to(data)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (data / "raw").rglob("*") if p.is_file()}  # fmt: skip


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a refused command says, exit 1, no traceback."""
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    (line,) = result.stderr.strip().splitlines()
    return line


def clean(result: subprocess.CompletedProcess[str], *, code: int = 0) -> str:
    """stdout of a command that went on: the exit code asked, no traceback anywhere."""
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr[-3000:]
    assert result.returncode == code, result.stderr[-3000:]
    return result.stdout
