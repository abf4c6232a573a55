"""Why a curation step stops: one-line messages, exit code 1 (happysad.common.errors)."""

from happysad.common.errors import HappysadError


class CurationError(HappysadError):
    """A curation step cannot go on; the message is shown to the user as is."""


class DatabaseUnavailable(CurationError):
    """FiftyOne's MongoDB could not be started or reached."""
