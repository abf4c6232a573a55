"""Find a Chromium to drive and launch it headless with flags that work on locked-down machines."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, BrowserContext, Error, async_playwright

from collector.errors import BrowserNotFound
from happysad.common.errors import first_line

ENV_VAR = "HAPPYSAD_BROWSER"
SYSTEM_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
LAUNCH_ARGS = [
    # Chromium's sandbox refuses to start as root (containers, CI); everyone else keeps it
    *(["--no-sandbox"] if os.geteuid() == 0 else []),
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DRIVER_GONE = "Connection closed while reading from the driver"  # Playwright's words
INSTALL_HINT = (
    "install one with `playwright install chromium` or `apt-get install chromium`, "
    f"or point --browser-path / ${ENV_VAR} at a Chromium or Chrome executable"
)


def find_browser(explicit: str | None, bundled: str | None) -> str | None:
    """Pick the executable: explicit path, else Playwright's own browser, else a system one.

    Returns None to mean "Playwright's bundled browser" (it knows its own path).
    """
    chosen = explicit or os.environ.get(ENV_VAR)
    if chosen:
        path = Path(chosen).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        found = shutil.which(chosen)
        if found:
            return found
        raise BrowserNotFound(f"browser not found at {chosen!r}; {INSTALL_HINT}")
    if bundled and Path(bundled).is_file():
        return None
    for name in SYSTEM_BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise BrowserNotFound(f"no Chromium or Chrome browser found; {INSTALL_HINT}")


def _quiet_driver_loss(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """Ctrl-C in a terminal signals the whole process group, Playwright's driver too: its
    pending futures then fail with "Connection closed" while nobody awaits them, and asyncio
    would print each one after the command's own "interrupted" line. Those alone are dropped."""
    if DRIVER_GONE not in str(context.get("exception", "")):
        loop.default_exception_handler(context)


@asynccontextmanager
async def browser_context(
    browser_path: str | None = None, load_images: bool = True
) -> AsyncIterator[BrowserContext]:
    """Yield a fresh headless browser context; everything is closed on exit.

    Without `load_images` Blink requests no image at all (img, srcset, CSS backgrounds): the
    downloader fetches each once, robots.txt first. A flag rather than request interception,
    which cost a round trip to Python per image (4 s for a 1,000-image page).
    """
    asyncio.get_running_loop().set_exception_handler(_quiet_driver_loss)
    async with async_playwright() as pw:
        executable = find_browser(browser_path, pw.chromium.executable_path)
        try:
            browser: Browser = await pw.chromium.launch(
                headless=True,
                executable_path=executable,
                args=[*LAUNCH_ARGS, *([] if load_images else ["--blink-settings=imagesEnabled=false"])],
            )
        except Error as exc:
            raise BrowserNotFound(f"could not start the browser ({first_line(exc)}); {INSTALL_HINT}") from exc
        try:
            yield await browser.new_context()
        finally:
            await browser.close()


def locate() -> str:
    """Say which browser `collect` would launch; raises BrowserNotFound if none."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        bundled = pw.chromium.executable_path
    return find_browser(None, bundled) or bundled


if __name__ == "__main__":  # `python -m collector.browser`: exit 0 if a browser is usable
    import sys

    try:
        print(locate())
    except BrowserNotFound as exc:
        print(exc, file=sys.stderr)
        sys.exit(1)
