"""Run a coroutine to its end from plain code, in a script or inside Jupyter.

`asyncio.run` refuses to start while an event loop runs in the thread, and a notebook's kernel
always has one running: there the coroutine gets a loop of its own in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(coroutine)`, also where a loop is already running.

    >>> async def two() -> int:
    ...     return 2
    >>> run(two())
    2
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(1, thread_name_prefix="happysad-async") as pool:
        return pool.submit(asyncio.run, coroutine).result()
