"""Typed failures the `curate` CLI turns into one-line messages and exit code 1."""


class CurationError(Exception):
    """A curation step cannot go on; the message is shown to the user as is."""


class DatabaseUnavailable(CurationError):
    """FiftyOne's MongoDB could not be started or reached."""
