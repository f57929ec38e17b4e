"""Errors raised inside the session middleware, answered there.

Litestar answers an exception that a user middleware raises (the body limit's 413, the upload
limit's 429) or the CSRF middleware does (reading a form) with the app's handler outside every
middleware: the session middleware never sees that answer, so nothing the answer put in the
session is stored. Placed right inside the session middleware, this answers them with the same
handler (web/errors.py) through the session's own `send`: a refusal's flash (post/redirect/get,
web/routes/profile_page.py) is kept like any other answer's. An error raised after the answer
began goes on up, as before.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.enums import ScopeType
from litestar.types import ASGIApp, ExceptionHandler, Message, Receive, Scope, Send


class AnsweredInSession:
    def __init__(self, app: ASGIApp, answer: ExceptionHandler[Exception]) -> None:
        self.app = app
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as error:
            if started:
                raise
            request: Request[Any, Any, Any] = Request(scope, receive, send)
            response = self.answer(request, error)
            await response.to_asgi_response(None, request)(scope, receive, sending)
