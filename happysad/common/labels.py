"""The label rule: a label names a folder (raw/<label>/, curated/<label>/), so it is a short
lower-case slug. Checked where labels enter (collect, import) and again where they become
paths (export), since a reviewer's label comes back from the App or a shared database."""

from __future__ import annotations

import re
import unicodedata

from happysad.common.errors import UsageError

LABEL = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")  # whole string: fullmatch ("$" lets "sad\n" through)
RULE = "lower-case letters, digits, '-' or '_' (it names a folder)"


def is_label(value: object) -> bool:
    return isinstance(value, str) and LABEL.fullmatch(value) is not None


def check_label(label: str) -> str:
    """The label itself, or UsageError (exit 2) saying the rule."""
    if not is_label(label):
        raise UsageError(f"label {label!r} must be {RULE}")
    return label


def slugify(text: str) -> str:
    """'Happy People!' → 'happy-people': a label that is also a safe folder name ('' if none is left)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9_]+", "-", ascii_text.lower()).strip("-_")[:64]
