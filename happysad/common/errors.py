"""One error model: what stops a command, the one line it prints, the exit code it ends with.

Library code raises a `HappysadError` (or a subclass) whose message is shown to the user as
is; `happysad.common.cli.one_line_errors` turns it, and the `OSError`, `sqlite3.Error` and Ctrl-C that
may come from anywhere, into `<command>: error: <line>` and an exit code. A per-file problem
is not an error of this kind: it is a flag with a reason (`happysad.common.images.ImageRejected`).
"""

from __future__ import annotations


class HappysadError(Exception):
    """A command cannot go on; its message is one line for the user, `exit_code` ends the run."""

    exit_code = 1


class WorkspaceError(HappysadError):
    """The workspace is missing, not a folder, unreadable, corrupt or busy."""


def first_line(exc: BaseException, default: str = "unknown error") -> str:
    """The first non-empty line of an exception's message: third-party errors run to pages."""
    return next((line.strip() for line in str(exc).splitlines() if line.strip()), default)


class UsageError(HappysadError):
    """The command line asks for something that cannot be: exit code 2, as for a bad option."""

    exit_code = 2
