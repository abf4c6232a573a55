"""A small JSON file that may come from elsewhere (a run folder, a face export): read whole only
when it is small, as one object, with one line for the user when it is not."""

from __future__ import annotations

import json
from pathlib import Path

from happysad.common.errors import HappysadError, first_line


def read_object(path: Path, what: str, max_bytes: int, error: type[HappysadError] = HappysadError) -> dict:
    """The JSON object in `path`; `error` when the file is over `max_bytes`, unreadable, nested
    past what the parser can follow, or not an object (`what` names what it should be).

    >>> read_object(Path("trainer/prior/config.json"), "a run's settings", 2**20)["arch"]
    'compact'
    """
    try:
        if path.stat().st_size > max_bytes:
            raise error(f"{path} is not {what} (over {max_bytes} bytes)")
        value = json.loads(path.read_text())
    except (ValueError, OSError, RecursionError) as exc:  # RecursionError: JSON nested too deep
        raise error(f"{path} is unreadable ({first_line(exc)})") from None
    if not isinstance(value, dict):
        raise error(f"{path} is not {what} (a JSON {type(value).__name__}, not an object)")
    return value
