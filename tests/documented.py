"""The documentation's command lines (the README and docs/*.md), run as a user types them: in
bash, with the venv's commands on a plain system PATH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the venv's commands
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"  # where a shell finds its tools, no venv
ENV = {**os.environ, "PATH": f"{BIN}:{SYSTEM_PATH}", "NO_COLOR": "1"}


def lines(*commands: str) -> list[str]:
    """The indented command lines that start with one of `commands`, as printed."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    text = [line for page in pages for line in page.read_text().splitlines()]
    return [line.strip() for line in text if line.startswith("    ") and line.split()[0] in commands]


def typed(line: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """One line through `bash -c`, as typed."""
    return subprocess.run(
        ["bash", "-c", line], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=ENV
    )
