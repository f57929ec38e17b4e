"""Ending the streams first when the server is told to stop.

Uvicorn waits for open responses to end before it shuts down, and an event stream never ends by
itself: on SIGINT or SIGTERM the hub drains (ends every stream, opens none), then the server's
own handler runs. The tabs reconnect to another process, or to this one once it is back.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any


def drain_on_signals(drain: Callable[[], None]) -> Callable[[], None] | None:
    """Run `drain` on the running loop, then the handler installed before, on SIGINT and
    SIGTERM; returns what puts the previous handlers back (None off the main thread, where
    signals cannot be handled)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {
        sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)
    }

    def handler(sig: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(drain)
        chained = previous[sig]
        if callable(chained):
            chained(sig, frame)

    installed = [sig for sig, before in previous.items() if callable(before)]
    for sig in installed:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig in installed:
            if signal.getsignal(sig) is handler:
                signal.signal(sig, previous[sig])

    return restore
