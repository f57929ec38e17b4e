"""Components served alone, for htmx swaps and for integrators' pages.

The avatar fragment is the hot read of live sync: one change makes every open tab showing that
member fetch it. Rendered fragments are cached by (member, size, lazy, picture_version), and a
live refetch names the version it wants (`?v=7`, added by static/js/live-sync.js): that URL's
answer never changes, so it is `immutable`, the browser's cache serves the other tabs, and a
cached version is answered without touching the database. Without `v`, the member's current
version comes from the read cache (web/caches/reads.py): on the event loop, no database read and
no worker thread unless the member is not cached.
"""

from __future__ import annotations

from typing import Any, Literal

from litestar import MediaType, Request, get
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Response
from litestar.status_codes import HTTP_304_NOT_MODIFIED

from web.caches.reads import BytesLru, member_reads
from web.plumbing.caching import IMMUTABLE

Size = Literal["xs", "sm", "md", "lg"]
FragmentKey = tuple[int, str, bool, int]
# The current version, asked for without one: shown stale for a minute at most while it is
# revalidated (an integrator's page, a CDN); live refetches name their version, so never wait.
CURRENT = "public, max-age=0, stale-while-revalidate=60"
# Another version than the one asked for (the event came before its commit was visible here):
# never reused, not even stale.
REVALIDATE = "no-cache"


class FragmentCache(BytesLru[FragmentKey]):
    """Rendered fragments, at most `capacity` of them."""

    def __init__(self, capacity: int = 4096) -> None:
        super().__init__(capacity, weigh=lambda _body: 1)

    def forget_member(self, user_id: int) -> None:
        """Drops the member's fragments: their version's files changed (AVIF copies added)."""
        self.drop_where(lambda key: key[0] == user_id)


def fragment_cache(state: State) -> FragmentCache:
    cache: FragmentCache = state["fragments"]
    return cache


def avatar_etag(user_id: int, version: int, size: str) -> str:
    return f'"a{user_id}-v{version}-{size}"'


@get("/components/avatar/{user_id:int}")
async def avatar_fragment(
    request: Request[Any, Any, Any],
    user_id: FromPath[int],
    size: FromQuery[Size] = "sm",
    lazy: FromQuery[bool] = False,
    v: FromQuery[int | None] = None,
) -> Response[bytes]:
    state = request.app.state
    cache = fragment_cache(state)
    if_none_match = request.headers.get("if-none-match", "")
    if v is not None:  # a version's fragment: answerable from memory alone
        etag = avatar_etag(user_id, v, size)
        if etag in if_none_match:
            return _answer(b"", etag, IMMUTABLE, HTTP_304_NOT_MODIFIED)
        body = cache.get((user_id, size, lazy, v))
        if body is not None:
            return _answer(body, etag, IMMUTABLE)
    avatar = (await member_reads(state, user_id, newer_than=v or -1)).avatar
    if avatar is None:
        raise NotFoundException(f"No member has the id {user_id}.")
    etag = avatar_etag(user_id, avatar.version, size)
    # Asked for another version than the current one: answer the current, but not for keeps.
    # Asked for none: the current, revalidated (CURRENT).
    cache_control = IMMUTABLE if v == avatar.version else CURRENT if v is None else REVALIDATE
    if etag in if_none_match:
        return _answer(b"", etag, cache_control, HTTP_304_NOT_MODIFIED)
    key = (user_id, size, lazy, avatar.version)
    body = cache.get(key)
    if body is None:
        body = _render(request, avatar=avatar, size=size, lazy=lazy)
        cache.put(key, body)
    return _answer(body, etag, cache_control)


def _render(request: Request[Any, Any, Any], **context: Any) -> bytes:
    engine = request.app.template_engine
    assert engine is not None
    html: str = engine.get_template("avatar_fragment.html").render(**context)
    return html.encode()


def _answer(body: bytes, etag: str, cache_control: str, status: int = 200) -> Response[bytes]:
    headers = {"ETag": etag, "Cache-Control": cache_control, "Vary": "HX-Request"}
    return Response(body, status_code=status, media_type=MediaType.HTML, headers=headers)
