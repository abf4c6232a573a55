"""Where the workspace lives: `--data DIR`, else `$HAPPYSAD_DATA`, else `./data`."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

ENV_VAR = "HAPPYSAD_DATA"
DEFAULT = "data"


def resolve_data_dir(option: Path | None = None) -> Path:
    """Return the absolute workspace directory, creating it so every stage can rely on it."""
    chosen = option if option is not None else Path(os.environ.get(ENV_VAR) or DEFAULT)
    path = chosen.expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def workspace_id(data_dir: Path) -> str:
    """A short random id kept in the workspace, naming its FiftyOne dataset."""
    marker = data_dir / ".workspace-id"
    if not marker.exists():
        marker.write_text(uuid.uuid4().hex[:8] + "\n")
    return marker.read_text().strip()
