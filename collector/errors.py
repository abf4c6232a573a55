"""Why a collection job stops: one-line messages, exit code 1 (happysad.common.errors)."""

from happysad.common.errors import HappysadError


class CollectError(HappysadError):
    """A collection job cannot go on; the message is shown to the user as is."""


class BrowserNotFound(CollectError):
    """No usable Chromium/Chrome executable."""


class EngineBlocked(CollectError):
    """The engine answered with a consent wall, a captcha or a rate-limit page."""


class EngineError(CollectError):
    """The engine's page could not be loaded or parsed."""


class CollectStopped(CollectError):
    """The job stopped early (the engine blocked, the disk filled); `summary` says what was done."""

    def __init__(self, summary) -> None:
        super().__init__(summary.error)
        self.summary = summary
