"""One structured (JSON) log line per request: method, path, status, duration."""

from __future__ import annotations

import logging
import sys
import time

import msgspec
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from web.client import client_address

log = logging.getLogger("ppsync.request")
_STARTED = "ppsync.request_started"


def configure_logging() -> None:
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


class RequestLogMiddleware:
    """Notes when a request reached the app; `log_response` writes its line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        note_started(scope)
        await self.app(scope, receive, send)


def note_started(scope: Scope) -> None:
    """Where a request's `ms` counts from (the stream, outside the middleware, calls it too)."""
    scope.setdefault("state", {})[_STARTED] = time.perf_counter()


async def log_response(message: Message, scope: Scope) -> None:
    """A `before_send` hook: it sees what the client gets, answers that middleware (CSRF, the
    body limit, the rate limit) or an exception handler made included. `ms` is the time until
    the response's headers went out (a stream's line is written when it opens)."""
    if message["type"] != "http.response.start" or not log.isEnabledFor(logging.INFO):
        return
    started = scope.get("state", {}).get(_STARTED)
    record = {
        "method": scope.get("method"),
        "path": scope.get("path"),
        "status": message["status"],
        "ms": None if started is None else round((time.perf_counter() - started) * 1000, 2),
        "client": client_address(scope),
    }
    log.info(msgspec.json.encode(record).decode())
