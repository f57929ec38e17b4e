"""One structured (JSON) log line per request: method, path, status, duration, client, and the
pid of the process that answered (`ppsync serve --workers N` runs several); and every
failure's traceback (`log_failure`), under an id that the client is shown and that the
request's line carries too (`error`)."""

from __future__ import annotations

import logging
import os
import secrets
import sys
import time

import msgspec
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from web.plumbing.client import client_address

log = logging.getLogger("ppsync.request")
failures = logging.getLogger("ppsync.error")
_STARTED = "ppsync.request_started"
_ERROR_ID = "ppsync.error_id"


def configure_logging() -> None:
    for logger in (log, failures):
        if not logger.handlers:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("%(message)s"))  # a traceback follows it
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.propagate = False


def log_failure(scope: Scope, error: BaseException) -> str:
    """Log an unexpected error's traceback under a new short id, and return the id (the
    answer shows it, so a member's report leads to the traceback)."""
    error_id = secrets.token_hex(4)
    scope.setdefault("state", {})[_ERROR_ID] = error_id
    method, path = scope.get("method"), scope.get("path")
    # %r: a path may hold a decoded newline, which would forge a line of the log.
    failures.error("error %s: %s %r", error_id, method, path, exc_info=error)
    return error_id


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
    state = scope.get("state", {})
    started = state.get(_STARTED)
    record = {
        "method": scope.get("method"),
        "path": scope.get("path"),
        "status": message["status"],
        "ms": None if started is None else round((time.perf_counter() - started) * 1000, 2),
        "client": client_address(scope),
        "pid": os.getpid(),
    }
    if _ERROR_ID in state:
        record["error"] = state[_ERROR_ID]
    log.info(msgspec.json.encode(record).decode())
