"""The stable avatar URL: `/members/{handle}/avatar` and `/avatar/{userId}`, for other apps and
emails to embed without a token (issue 27), in the manner of Gravatar.

Each answers with a 302 to the member's current picture: the content-hashed variant the pages
use (under MEDIA_URL_BASE when set), the smallest at least the asked size (`s` or `size`, in
device pixels: a 2x screen asks for twice its CSS size), the largest past them all. The
redirect is cached for a minute only (an `ETag` of its target, 304 on a match), so a change
reaches every page embedding it within a minute, while the target itself is cached for a year.
Without a picture, `d` says what to answer: the member's initials on their colour (an SVG),
404, or a transparent pixel. A handle or id that names no member is answered exactly as a
member without a picture (a neutral "?" for the initials): nothing says whether it exists.
There is no visibility preference to honour: every member is listed on the public directory.

The hot path reads nothing from the database once cached: the member from the read cache
(web/caches/reads.py, as the avatar fragment does), the handle's id from its handle map
(web/caches/handles.py). Every answer, refusals included, may be embedded by any site
(`Cross-Origin-Resource-Policy: cross-origin`), as the variant files it points at may.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from html import escape
from typing import Any

from anyio import to_thread
from litestar import MediaType, Request, Response, get
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_302_FOUND,
    HTTP_304_NOT_MODIFIED,
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
)

from db.models import is_id
from web.caches.reads import member_reads, read_cache
from web.plumbing.deps import media_urls_of
from web.services.accounts.members import HANDLE_RE, normal_handle
from web.services.imaging.types import VARIANT_PX
from web.services.pictures.avatars import Avatar

DEFAULT_PX = 80  # Gravatar's default size, and one of our variants
MAX_PX = 2048  # Gravatar's largest; past our largest variant, that one is sent
FALLBACKS = ("initials", "404", "blank")
AVATAR_HEADERS = {
    "Cache-Control": "public, max-age=60",  # a new picture shows everywhere within a minute
    "Cross-Origin-Resource-Policy": "cross-origin",
    "X-Content-Type-Options": "nosniff",
}
# A fallback opened directly runs nothing and loads nothing (as the variant files).
IMAGE_CSP = "default-src 'none'; sandbox"
NEUTRAL = ("#6b7280", "#ffffff")  # no member's colour, with white ink (4.8:1)
_DIGITS = re.compile(r"[0-9]{1,10}")
# A transparent 1x1 PNG: `d=blank`, as Gravatar's (a PNG, for mail clients that show no SVG).
BLANK_PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\xdac````\x00\x00\x00\x05\x00\x01z\xa8WP\x00\x00\x00"
    b"\x00IEND\xaeB`\x82"
)
INITIALS_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="{px}" height="{px}" viewBox="0 0 40 40">'
    '<rect width="40" height="40" fill="{colour}"/>'
    '<text x="20" y="20" dy="0.35em" text-anchor="middle" fill="{ink}" '
    'font-family="system-ui, sans-serif" font-size="15" font-weight="600">{initials}</text>'
    "</svg>"
)


class BadAsk(ValueError):
    """A size or fallback the URL cannot answer: 400 with this message."""


@dataclass(frozen=True, slots=True)
class Ask:
    px: int  # the variant's, snapped from the asked size
    fallback: str  # one of FALLBACKS


@get("/members/{handle:str}/avatar", include_in_schema=False)
async def by_handle(request: Request[Any, Any, Any], handle: FromPath[str]) -> Response[bytes]:
    try:
        ask = parse(request)
    except BadAsk as error:
        return _refused(str(error))
    user_id = await _id_of_handle(request.app.state, normal_handle(handle))
    return await _answer(request, user_id, ask)


@get("/avatar/{user_id:str}", include_in_schema=False)
async def by_id(request: Request[Any, Any, Any], user_id: FromPath[str]) -> Response[bytes]:
    try:
        ask = parse(request)
    except BadAsk as error:
        return _refused(str(error))
    member = int(user_id) if _DIGITS.fullmatch(user_id) and is_id(int(user_id)) else None
    return await _answer(request, member, ask)


ROUTES = (by_handle, by_id)  # what create_app registers


def parse(request: Request[Any, Any, Any]) -> Ask:
    query = request.query_params
    sizes = query.getall("s", []) + query.getall("size", [])
    fallbacks = query.getall("d", []) + query.getall("default", [])
    if len(sizes) > 1 or len(fallbacks) > 1:
        raise BadAsk("Give the size (s or size) and the fallback (d) at most once each.")
    fallback = fallbacks[0] if fallbacks else "initials"
    if fallback not in FALLBACKS:
        raise BadAsk(f"d must be one of {', '.join(FALLBACKS)}; not {fallback[:40]!r}.")
    return Ask(px=snap(_pixels(sizes[0]) if sizes else DEFAULT_PX), fallback=fallback)


def _pixels(text: str) -> int:
    if not _DIGITS.fullmatch(text) or not 1 <= int(text) <= MAX_PX:
        raise BadAsk(f"s (or size) is a whole number of pixels from 1 to {MAX_PX}.")
    return int(text)


def snap(px: int) -> int:
    """The smallest variant at least px wide, else the largest."""
    return next((side for side in VARIANT_PX if side >= px), VARIANT_PX[-1])


async def _id_of_handle(state: State, handle: str) -> int | None:
    if not HANDLE_RE.fullmatch(handle):  # no member can have it: not worth a read
        return None
    handles = read_cache(state).handles
    user_id = handles.get(handle)
    if user_id is None:
        user_id = await to_thread.run_sync(handles.load, handle)
    return user_id or None


async def _answer(
    request: Request[Any, Any, Any], user_id: int | None, ask: Ask
) -> Response[bytes]:
    state = request.app.state
    avatar = (await member_reads(state, user_id)).avatar if user_id else None
    if avatar is not None and avatar.picture is not None:
        url = media_urls_of(state)(avatar.picture, ask.px)
        return _fresh(request, url.encode(), HTTP_302_FOUND, headers={"Location": url})
    if ask.fallback == "404":
        headers = AVATAR_HEADERS | {"Content-Security-Policy": IMAGE_CSP}
        return Response(
            b"No picture.",
            status_code=HTTP_404_NOT_FOUND,
            media_type=MediaType.TEXT,
            headers=headers,
        )
    body, media_type = fallback_image(avatar, ask)
    csp = {"Content-Security-Policy": IMAGE_CSP}
    return _fresh(request, body, HTTP_200_OK, body=body, media_type=media_type, headers=csp)


def fallback_image(avatar: Avatar | None, ask: Ask) -> tuple[bytes, str]:
    """The bytes and type of a member without a picture (avatar None: no such member)."""
    if ask.fallback == "blank":
        return BLANK_PNG, "image/png"
    colour, ink = (avatar.colour, avatar.ink) if avatar else NEUTRAL
    initials = escape(avatar.initials) if avatar else "?"
    svg = INITIALS_SVG.format(px=ask.px, colour=colour, ink=ink, initials=initials)
    return svg.encode(), "image/svg+xml"


def _fresh(
    request: Request[Any, Any, Any],
    tagged: bytes,
    status: int,
    *,
    body: bytes = b"",
    media_type: str = MediaType.TEXT,
    headers: dict[str, str] | None = None,
) -> Response[bytes]:
    """The answer, tagged by what it points at or holds; 304 when the client has it."""
    etag = f'"{hashlib.sha256(tagged).hexdigest()[:32]}"'
    common = AVATAR_HEADERS | {"ETag": etag}
    if etag in request.headers.get("if-none-match", ""):
        return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=common)
    return Response(
        body, status_code=status, media_type=media_type, headers=common | (headers or {})
    )


def _refused(message: str) -> Response[bytes]:
    return Response(
        message.encode(),
        status_code=HTTP_400_BAD_REQUEST,
        media_type=MediaType.TEXT,
        headers=AVATAR_HEADERS,
    )
