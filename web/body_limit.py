"""Small bodies for small forms: 64 KiB for every route but the uploads, refused before any of
it is parsed (Litestar's CSRF middleware reads a whole form to find its token).

A user middleware runs outside the CSRF middleware (Litestar wraps CSRF inside the app's
middleware list), so the declared Content-Length is refused before a byte is read, and a body
sent without one (chunked) is refused as soon as it passes the limit. The upload routes say
`opt={"upload": True}` and get MAX_UPLOAD_BYTES plus room for the multipart framing.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_413_REQUEST_ENTITY_TOO_LARGE
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

FORM_MAX_BYTES = 64 * 1024
MULTIPART_ROOM = 64 * 1024  # an upload's form fields and boundaries, beyond the file itself


class BodyTooLarge(HTTPException):
    status_code = HTTP_413_REQUEST_ENTITY_TOO_LARGE
    detail = "Request Entity Too Large"


def body_limit(scope: Scope) -> int:
    handler = scope.get("route_handler")
    if handler is not None and handler.opt.get("upload"):
        max_upload: int = scope["app"].state["settings"].max_upload_bytes
        return max_upload + MULTIPART_ROOM
    return FORM_MAX_BYTES


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope)
        for name, value in scope["headers"]:
            if name == b"content-length":
                if value.isdigit() and int(value) > limit:
                    raise BodyTooLarge(headers={"Connection": "close"})
                break
        received = 0

        async def counted() -> ReceiveMessage:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(headers={"Connection": "close"})
            return message

        await self.app(scope, counted, send)
