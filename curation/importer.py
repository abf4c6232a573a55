"""`curate import DIR`: bring a hand-gathered folder tree (label = sub-folder) into raw/.

Files are copied into raw/ under the same content-addressed names `collect` writes
(happysad.common.workspace.raw_path); the source tree is only read. Broken files come along too, so
that `scan` can flag them instead of them vanishing silently.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from curation.catalog import Catalog
from curation.errors import CurationError
from happysad.common.files import write_atomic
from happysad.common.images import EXTENSIONS, ImageRejected, read_image_file, sniff
from happysad.common.labels import slugify
from happysad.common.workspace import raw_path


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
            # every entry but folders: a FIFO or a device is listed as skipped with its reason,
            # not passed over in silence (read_image_file refuses it without reading)
            files = sorted(p for p in folder.rglob("*") if not p.is_dir() and not p.name.startswith("."))
            for path in files:
                try:  # one odd file is skipped with a reason; the import goes on
                    if not path.resolve().is_relative_to(inside):
                        raise ImageRejected("a link out of the imported folder")
                    data = read_image_file(path)
                except ImageRejected as exc:
                    summary.skipped[str(path)] = str(exc)
                    continue
                except OSError as exc:
                    summary.skipped[str(path)] = exc.strerror or "unreadable"
                    continue
                sha = hashlib.sha256(data).hexdigest()
                fmt = sniff(data[:16])
                ext = EXTENSIONS[fmt] if fmt else (path.suffix.lower().lstrip(".") or "bin")
                relative = raw_path(label, sha, ext)
                target = catalog.data_dir / relative
                if not target.exists():  # a copy, not a link: raw/ must not change with the source
                    write_atomic(target, data, durable=True)
                if catalog.add(relative, label, sha, "import", source=str(path.resolve()), bytes=len(data)):
                    summary.added += 1
                    summary.per_label[label] = summary.per_label.get(label, 0) + 1
                else:
                    summary.known += 1
        summary.ignored = [p.name for p in source.iterdir() if p.is_file()]
    return summary
