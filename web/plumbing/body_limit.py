"""Small bodies for small forms: 64 KiB for every route but the uploads, refused before any of
it is parsed (Litestar's CSRF middleware reads a whole form to find its token). The upload
cap is for a member's multipart upload only: a visitor's body is 64 KiB on every route
(`body_limit`), and a visitor's post to a member's upload or suggestion form is not read at
all: 401, which sends a browser to sign in and tells the page's script that its member is
signed out (web/routes/auth.py `log_in_first`), so the page keeps the chosen file.

A user middleware runs outside the CSRF middleware (Litestar wraps CSRF inside the app's
middleware list), so the declared Content-Length is refused before a byte is read, and a body
sent without one (chunked) is refused as soon as it passes the limit. The upload routes say
`opt={"upload": True}` and get MAX_UPLOAD_BYTES plus room for the multipart framing; the crop
suggestion (also `FORM_SUGGESTION`) gets SUGGESTION_MAX_BYTES plus that room, the edit preview
(`FORM_PREVIEW`) PREVIEW_MAX_BYTES.

A body must also keep coming: after BODY_GRACE_S it must have arrived at MIN_BODY_RATE or
better, else 408 and the connection is closed (a client sending a byte every 2 s would hold a
connection and a request for hours). Headers are the server's to time out:
web/overrides/server_limits.py.

While the form is parsed, an upload under the limit stays in memory:
web/overrides/upload_memory.py.
"""

from __future__ import annotations

import asyncio

from litestar.enums import ScopeType
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.status_codes import HTTP_408_REQUEST_TIMEOUT, HTTP_413_REQUEST_ENTITY_TOO_LARGE
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from web.plumbing.deps import signed_in_id
from web.plumbing.guards import FORM_PREVIEW, FORM_SUGGESTION, members_form

FORM_MAX_BYTES = 64 * 1024
BODY_GRACE_S = 10.0  # seconds any body may take, whatever its size
MIN_BODY_RATE = 8 * 1024  # bytes a second beyond the grace (64 kbit/s: 10 MiB in 21 minutes)
_BODILESS = frozenset({"GET", "HEAD", "OPTIONS"})
MULTIPART_ROOM = 64 * 1024  # an upload's form fields and boundaries, beyond the file itself


class BodyTooLarge(HTTPException):
    status_code = HTTP_413_REQUEST_ENTITY_TOO_LARGE
    detail = "Request Entity Too Large"


class BodyTooSlow(HTTPException):
    status_code = HTTP_408_REQUEST_TIMEOUT
    detail = "The request body arrived too slowly."


def body_limit(scope: Scope) -> int:
    """The upload cap for a multipart body to an upload route from a known caller, else 64 KiB.

    Known: a member signed in (the form routes: the CSRF check parses the body before any
    handler could ask who sends it), or any caller of a route outside the CSRF check (the
    API, whose Bearer guard runs before its body is read). So a visitor's form of any kind,
    and a url-encoded body of anyone's (parsed whole, on the event loop), is 64 KiB at most."""
    handler = scope.get("route_handler")
    if handler is None or not handler.opt.get("upload") or not _multipart(scope):
        return FORM_MAX_BYTES
    if members_form(scope) and signed_in_id(scope) is None:
        return FORM_MAX_BYTES
    settings = scope["app"].state["settings"]
    cap: int = settings.max_upload_bytes
    if handler.opt.get(FORM_SUGGESTION):
        cap = settings.suggestion_max_bytes
    elif handler.opt.get(FORM_PREVIEW):
        cap = settings.preview_max_bytes
    return cap + MULTIPART_ROOM


def _multipart(scope: Scope) -> bool:
    content_type = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
    return content_type.split(b";", 1)[0].strip().lower() == b"multipart/form-data"


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "POST" and members_form(scope) and signed_in_id(scope) is None:
            # Signed out (or never in): sent to sign in, the body unread (web/routes/auth.py).
            raise NotAuthorizedException("Log in first.", headers={"Connection": "close"})
        limit = body_limit(scope)
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge(headers={"Connection": "close"})
        chunked = any(k == b"transfer-encoding" for k, _ in scope["headers"])
        if scope["method"] in _BODILESS and declared is None and not chunked:
            # A page or a stream: no body to watch, and no closure kept for hours per stream.
            await self.app(scope, receive, send)
            return
        received, complete = 0, False
        loop = asyncio.get_running_loop()
        started = loop.time()

        async def counted() -> ReceiveMessage:
            nonlocal received, complete
            if complete:  # the body is in: what is left is the wait for a disconnect
                return await receive()
            allowed = started + BODY_GRACE_S + received / MIN_BODY_RATE - loop.time()
            try:  # timeout() makes no task per chunk, as wait_for() does: 80 of them for 5 MB
                async with asyncio.timeout(max(allowed, 0.01)):
                    message = await receive()
            except TimeoutError:
                raise BodyTooSlow(headers={"Connection": "close"}) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > limit:
                    raise BodyTooLarge(headers={"Connection": "close"})
            return message

        await self.app(scope, counted, send)
