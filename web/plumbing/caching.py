"""What may be cached, and for how long, written once (docs/caching.md says why, for a CDN too):

- text (pages, fragments, CSS, JS) is gzip-compressed when the client accepts it; pictures are
  compressed already and the event stream must flush each frame, so neither is;
- a static asset asked for at its content hash (`?v=`, web/plumbing/assets.py) is `immutable`
  for a year; asked for without it, or at another hash, it is revalidated every time;
- a page whose handler says `opt={REVALIDATE: True}` (the directory, a member's page) carries
  a weak ETag of its body and may be shown stale while the browser revalidates it; a matching
  If-None-Match is answered 304 with no body.
"""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qs

from litestar.config.compression import CompressionConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware.compression import CompressionMiddleware
from litestar.types import (
    ASGIApp,
    BeforeMessageSendHookHandler,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)

from web.plumbing.assets import AssetUrls

IMMUTABLE = "public, max-age=31536000, immutable"
# A page differs by viewer (its header, its CSRF token): the browser's own cache only, and never
# across a sign-in or out (Vary: Cookie). A minute stale at most, and only while it revalidates.
PAGE = "private, max-age=0, stale-while-revalidate=60"
REVALIDATE = "revalidate"  # the route opt that asks for PAGE and an ETag
COMPRESS_MIN_BYTES = 500  # below it, gzip's header and a round of CPU save nothing
# Paths whose answers are never compressed: the pictures (WebP, JPEG, PNG: compressed already,
# gzip only adds CPU) and the event stream (a compressor would hold frames back).
UNCOMPRESSED = ["^/media/", "^/events", r"^/profile/picture/\d+/(master|thumb)$"]


def compression() -> CompressionConfig:
    return CompressionConfig(
        backend="gzip",
        gzip_compress_level=6,  # level 9 costs twice the CPU for about 1 % fewer bytes of HTML
        minimum_size=COMPRESS_MIN_BYTES,
        exclude=UNCOMPRESSED,
        middleware_class=CompressedRevalidating,
    )


class CompressedRevalidating(CompressionMiddleware):
    """Litestar's compression, with the revalidation inside it: the ETag is the hash of the page
    itself, not of its gzip stream (whose header carries the time of compression), and a 304
    leaves before anything is compressed. (A user middleware would run outside compression:
    Litestar puts it around the route, inside the app's middleware list.)"""

    def __init__(self, app: ASGIApp, config: CompressionConfig) -> None:
        super().__init__(RevalidateMiddleware(app), config)


def static_cache(assets: AssetUrls, prefix: str = "/static/") -> BeforeMessageSendHookHandler:
    """Cache-Control for the static files: immutable at their current hash, else revalidated."""

    async def add(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start" or message["status"] != 200:
            return
        path: str = scope.get("path", "")
        if not path.startswith(prefix):
            return
        asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v", [""])[-1]
        current = assets.digest(path.removeprefix(prefix))
        headers = MutableScopeHeaders.from_message(message)
        headers["Cache-Control"] = IMMUTABLE if asked and asked == current else "no-cache"

    return add


class RevalidateMiddleware:
    """ETag + stale-while-revalidate for the GET routes that opt in (`opt={REVALIDATE: True}`).

    The ETag is the hash of the page as rendered, so it covers whatever the page shows (the
    members, the viewer's header, the CSRF token) without a list of inputs to keep in step.
    Weak: the compressed and the plain answer are the same page, not the same bytes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        wanted = (
            scope["type"] == ScopeType.HTTP
            and scope["method"] in ("GET", "HEAD")
            and handler is not None
            and handler.opt.get(REVALIDATE)
        )
        if not wanted:
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _Revalidating(scope, send))


class _Revalidating:
    """The send of one opted-in request: holds the answer back until its body is whole."""

    def __init__(self, scope: Scope, send: Send) -> None:
        self.send = send
        self.if_none_match = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"if-none-match"), ""
        )
        self.start: HTTPResponseStartEvent | None = None
        self.chunks: list[bytes] = []

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 200:
            self.start = message
            return
        if self.start is None or message["type"] != "http.response.body":
            await self.send(message)
            return
        self.chunks.append(message.get("body", b""))
        if message.get("more_body"):
            return
        await self._answer(b"".join(self.chunks))

    async def _answer(self, body: bytes) -> None:
        assert self.start is not None
        tag = f'"{hashlib.sha256(body).hexdigest()[:20]}"'
        etag = f"W/{tag}"
        headers = MutableScopeHeaders.from_message(self.start)
        headers["ETag"] = etag
        headers["Cache-Control"] = PAGE
        headers.extend_header_value("Vary", "Cookie")
        if tag in self.if_none_match:  # the weak comparison: W/"x" and "x" both match
            self.start["status"] = 304
            del headers["Content-Length"]
            del headers["Content-Type"]
            body = b""
        else:
            headers["Content-Length"] = str(len(body))
        await self.send(self.start)
        await self.send({"type": "http.response.body", "body": body, "more_body": False})
