"""Writing a frame to an idle /events stream from the fan-out itself, without waking the stream's
task (web/live/channel.py's `LiveSubscriber.direct`).

A change to 5,000 streams otherwise costs 5,000 task wake-ups, one event-loop turn each, before
the last tab has it (bench/sse_fanout.py: they were most of the time from the commit to the last
stream). An ASGI `send` is a coroutine function, but uvicorn's, for a response body, only
suspends when the socket's buffer is full (it awaits the flow control's drain, before it has
written anything); otherwise it runs to its end at once. So the fan-out runs the coroutine one
step: it finishes, the frame written, or it would wait, and then it is closed unwritten and the
frame goes through the stream's queue and task as before (a slow reader keeps its backlog cap).

What it relies on upstream (uvicorn 0.54: uv.lock), canaried in tests/unit/test_overrides.py:
both protocols' `RequestResponseCycle.send` awaits `self.flow.drain()` first, and only while
`flow.write_paused`; it awaits nothing else for a body. Only their `send` is run this way
(`can_send_at_once`); any other server's (a test client's) goes through the task.
"""

from __future__ import annotations

import contextlib
from typing import Any

from litestar.types import Message, Send
from uvicorn.protocols.http.h11_impl import RequestResponseCycle as H11Cycle

try:
    from uvicorn.protocols.http.httptools_impl import RequestResponseCycle as HttpToolsCycle
except ImportError:  # pragma: no cover (httptools comes with uvicorn[standard])
    HttpToolsCycle = H11Cycle  # type: ignore[assignment,misc]

CYCLES = (H11Cycle, HttpToolsCycle)


def can_send_at_once(send: Send) -> bool:
    """Whether `send` is uvicorn's own (a response cycle's bound method)."""
    return isinstance(getattr(send, "__self__", None), CYCLES)


def send_at_once(send: Send, message: Message) -> bool:
    """Send `message` now if that needs no wait; False if it would wait (nothing was written:
    send it the usual way) or failed (the stream's own send will meet the failure again)."""
    step: Any = send(message)
    try:
        step.send(None)
    except StopIteration:
        return True
    except Exception:  # e.g. a closed transport: the stream's task ends it, as it would have
        return False
    with contextlib.suppress(Exception):
        step.close()  # suspended at the drain, before any write: dropped unwritten
    return False
