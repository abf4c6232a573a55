"""A report as JSON-ready values: what every `--json` prints and what the API's dataclasses hold.

`dataclasses.asdict` rebuilds a `Counter` from (key, value) pairs, so a Counter field comes
out counting tuples; this walks the fields instead.

>>> from collections import Counter
>>> from dataclasses import dataclass
>>> @dataclass
... class Report:
...     flags: Counter
>>> plain(Report(Counter({"small": 2})))
{'flags': {'small': 2}}
"""

from __future__ import annotations

import dataclasses
from pathlib import PurePath
from typing import Any


def plain(value: Any) -> Any:
    """Dataclasses as dicts of their fields, mappings as dicts, sequences as lists, paths as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, PurePath):
        return str(value)
    return value
