"""SIGTERM handled like Ctrl-C in a CLI command's event loop (a clean cancel, then an exit
the caller reports), instead of the default immediate death."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from typing import Any, TypeVar

_T = TypeVar("_T")


class Terminated(Exception):
    """SIGTERM cancelled the command (exit status 143, like a process killed by it)."""


async def until_sigterm(work: Coroutine[Any, Any, _T]) -> _T:
    """Await ``work``; SIGTERM cancels it the way Ctrl-C does, then raises :class:`Terminated`."""
    task = asyncio.current_task()
    assert task is not None
    terminated = asyncio.Event()

    def on_sigterm() -> None:
        terminated.set()
        task.cancel()

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    try:
        return await work
    except asyncio.CancelledError:
        if terminated.is_set():
            raise Terminated from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
