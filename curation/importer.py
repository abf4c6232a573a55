"""`curate import DIR`: bring a hand-gathered folder tree (label = sub-folder) into raw/.

Files are copied into raw/<label>/<sha256[:16]>.<ext>, the same content-addressed
layout `collect` writes; the source tree is only read. Broken files come along too, so
that `scan` can flag them instead of them vanishing silently.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from common.images import MAX_BYTES, sniff
from common.labels import slugify
from curation.catalog import Catalog
from curation.errors import CurationError

_EXT = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "BMP": "bmp", "TIFF": "tif"}


@dataclass
class ImportSummary:
    source: str
    added: int = 0
    known: int = 0
    per_label: dict[str, int] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # file → why it was not taken in


def label_of(folder: str) -> str:
    return slugify(folder) or "unlabelled"


def _place(data: bytes, target: Path) -> None:
    """Copy (not link: raw/ must not change when the source is edited), atomically."""
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.part")
    staging.write_bytes(data)
    os.replace(staging, target)


def _refuse(path: Path, inside: Path) -> str | None:
    """Why a file is not taken in: a link out of the tree, or larger than MAX_BYTES."""
    if not path.resolve().is_relative_to(inside):
        return "a link out of the imported folder"
    size = path.stat().st_size
    return f"too large ({size} bytes > {MAX_BYTES})" if size > MAX_BYTES else None


def import_tree(source: Path, catalog: Catalog) -> ImportSummary:
    if not source.is_dir():
        raise CurationError(f"{source} is not a folder")
    labels = sorted(p for p in source.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not labels:
        raise CurationError(f"{source} has no sub-folders; expected <label>/<images>")
    summary = ImportSummary(str(source))
    inside = source.resolve()
    with catalog.transaction():
        for folder in labels:
            label = label_of(folder.name)
            files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
            for path in files:
                try:  # one odd file is skipped with a reason; the import goes on
                    why = _refuse(path, inside)
                    data = path.read_bytes() if why is None else b""
                except OSError as exc:
                    why = exc.strerror or "unreadable"
                if why is not None:
                    summary.skipped[str(path)] = why
                    continue
                sha = hashlib.sha256(data).hexdigest()
                fmt = sniff(data[:16])
                ext = _EXT[fmt] if fmt else (path.suffix.lower().lstrip(".") or "bin")
                relative = f"raw/{label}/{sha[:16]}.{ext}"
                _place(data, catalog.data_dir / relative)
                if catalog.add(relative, label, sha, "import", source=str(path.resolve()), bytes=len(data)):
                    summary.added += 1
                    summary.per_label[label] = summary.per_label.get(label, 0) + 1
                else:
                    summary.known += 1
        summary.ignored = [p.name for p in source.iterdir() if p.is_file()]
    return summary
