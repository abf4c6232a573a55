"""Why a training, evaluation or serving step stops: one-line messages, exit code 1
(happysad.common.errors)."""

from happysad.common.errors import HappysadError


class DataError(HappysadError, ValueError):
    """The data folder or a run cannot be used (missing, no labels, one label only, broken)."""
