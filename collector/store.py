"""raw/<label>/<sha256 prefix>.<ext>: content-addressed files, written atomically.

Bytes are staged in `<data>/.tmp/` (same filesystem), fsynced, then renamed into
place, so raw/ never holds a partial file whatever moment a run is killed at.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from happysad.common.workspace import RAW


class RawStore:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.raw = data_dir / RAW
        self.tmp = data_dir / ".tmp"
        self.raw.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    def clear_staging(self) -> int:
        """Remove staged files a killed run left behind (never anything in raw/)."""
        removed = 0
        for leftover in self.tmp.glob("stage-*"):
            leftover.unlink(missing_ok=True)
            removed += 1
        return removed

    @staticmethod
    def digest(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    def stage(self, data: bytes) -> Path:
        """Write `data` to a durable staging file and return its path."""
        fd, name = tempfile.mkstemp(prefix="stage-", dir=self.tmp)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        return Path(name)

    def publish(self, staged: Path, relative: str) -> None:
        """Atomically move a staged file to its place in raw/.

        The directory is not fsynced: if a power cut loses the rename, the manifest row
        points at a missing file and `Manifest.reconcile` queues the URL again.
        """
        target = self.data_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)
