"""GET /events: the live stream, one per browser (see static/js/live-sync.js), of the members
named in its URL (`?members=42,43`, web/live/topics.py) and the viewer; and GET /events/sync:
the one-request check of every avatar on a page, for when there is no stream. What a stream
follows changes with POST /events/subscriptions (web/live/subscriptions.py).

The stream is a plain ASGI callable that the app's front door (web/app.py) calls before any of
Litestar's wrappers: no middleware, exception handler or before-send hook sits between the queue
and the socket for the stream's life, and none keeps its frames alive, which keeps a stream's
memory and the fan-out time near a bare ASGI broadcaster's (bench/sse_fanout.py). What those
wrappers did that a stream needs, it does itself, once, before its first byte: the before-send
hooks on its head (security headers, the request log line), the signed-in member from the
session cookie (read, never written back), the client address and its stream cap, and a 503
while the database is away. GET needs no CSRF check and has no body to limit. Nothing wrapping
`send` is also what lets the fan-out write to a waiting stream itself, with uvicorn's own `send`
(web/overrides/send_at_once.py), without waking the stream's task.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import msgspec
from litestar import Request, get
from litestar.datastructures import Headers
from litestar.exceptions import ValidationException
from litestar.params import FromQuery
from litestar.response import Response
from litestar.types import Message, Receive, Scope, Send

from db.unavailable import unavailable_cause
from web.live.channel import LiveSubscriber, frame_event_id, opening_frames
from web.live.hub import LiveHub, live_hub
from web.live.streams import Stream
from web.live.topics import members_of_query
from web.overrides.litestar_entry import run_before_send
from web.overrides.send_at_once import can_send_at_once, send_at_once
from web.overrides.sessions import read_session
from web.plumbing.client import client_address
from web.plumbing.deps import DB, SESSION_USER_KEY, settings_of, signed_in_id
from web.plumbing.logs import log_failure, note_started
from web.plumbing.replies import (
    RETRY_AFTER_DATABASE,
    RETRY_AFTER_DRAINING,
    RETRY_AFTER_STREAMS,
    raw_headers,
    retry_after,
)
from web.services import sync
from web.services.sync import Replay

STREAM_PATHS = frozenset({"/events", "/events/"})
STREAM_HEADERS = [
    (b"content-type", b"text/event-stream"),
    # no-transform and X-Accel-Buffering keep proxies from compressing or holding back frames.
    (b"cache-control", b"no-cache, no-transform"),
    (b"x-accel-buffering", b"no"),
]
MAX_AVATARS = 500
_CLAIM = re.compile(r"(\d{1,10}):(\d{1,10})")
_EVENT_ID = re.compile(r"\d{1,18}")

log = logging.getLogger(__name__)


async def stream(scope: Scope, receive: Receive, send: Send) -> None:
    """GET /events, with `scope["app"]` set by the front door."""
    note_started(scope)
    hub = live_hub(scope["app"])
    if scope.get("method") != "GET":
        await _refuse(scope, send, 405, [(b"allow", b"GET")])
        return
    if hub.draining:  # shutting down: the tab retries, and reaches the next process
        await _refuse(scope, send, 503, raw_headers(retry_after(RETRY_AFTER_DRAINING)))
        return
    settings = settings_of(scope["app"].state)
    try:
        members, seq = members_of_query(
            scope.get("query_string", b""), settings.events_members_per_stream
        )
    except ValueError as error:  # a tab sends a good set: what it gets wrong, said in the body
        await _refuse(scope, send, 400, [(b"content-type", b"text/plain")], str(error).encode())
        return
    address = client_address(scope)
    if not hub.admit(address, settings.events_per_client):
        await _refuse(scope, send, 429, raw_headers(retry_after(RETRY_AFTER_STREAMS)))
        return
    try:
        if (opened := await _open_or_refuse(hub, scope, send, members, seq)) is not None:
            await _serve(hub, opened, receive, send)
    finally:
        hub.leave(address)


async def _serve(hub: LiveHub, opened: tuple[Stream, int], receive: Receive, send: Send) -> None:
    stream, replayed_up_to = opened
    try:
        watcher = asyncio.create_task(_end_on_disconnect(receive, stream.subscriber))
        try:
            await _pump(stream, send, replayed_up_to)
        finally:
            watcher.cancel()
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        hub.close(stream)


async def _open_or_refuse(
    hub: LiveHub, scope: Scope, send: Send, members: frozenset[int], seq: int
) -> tuple[Stream, int] | None:
    """Register, replay, send the opening; or answer as an exception handler would have: 503
    while the database is away (the tab retries), 500 for a bug."""
    try:
        opened, replay = await _register(hub, scope, members, seq)
    except Exception as error:
        await _refuse_error(scope, send, error)
        return None
    try:
        await _start(scope, send, 200, list(STREAM_HEADERS))  # a copy: the hooks append to it
        body = opening_frames(replay, opened.tab.viewer_id, opened.tab.id, seq)
        await send({"type": "http.response.body", "body": body, "more_body": True})
    except BaseException:
        hub.close(opened)
        raise
    return opened, replay.last_event_id


async def _register(
    hub: LiveHub, scope: Scope, members: frozenset[int], seq: int
) -> tuple[Stream, Replay]:
    """Its own function: what it reads (headers, the session) is let go before the stream
    settles down for hours."""
    headers = Headers.from_scope(scope)
    member = (await read_session(scope)).get(SESSION_USER_KEY)
    return await hub.open(
        viewer_id=member if isinstance(member, int) else None,
        user_agent=headers.get("user-agent", ""),
        last_event_id=_last_event_id(headers.get("last-event-id", "")),
        members=members,
        seq=seq,
    )


async def _refuse_error(scope: Scope, send: Send, error: Exception) -> None:
    if (cause := unavailable_cause(error)) is not None:
        log.warning("database unavailable: GET /events: %s", cause)
        await _refuse(scope, send, 503, raw_headers(retry_after(RETRY_AFTER_DATABASE)))
    else:
        error_id = log_failure(scope, error)  # an EventSource shows no body: the header says
        await _refuse(scope, send, 500, [(b"x-error-id", error_id.encode())])


async def _pump(opened: Stream, send: Send, replayed_up_to: int) -> None:
    """Queue to socket: the hot path, per stream per event. While the stream waits, the
    fan-out writes a frame itself when the socket takes it at once (`direct`); the frames
    that would wait, or come while one is being written, go through the queue and this task."""
    subscriber, tab = opened.subscriber, opened.tab

    def passes(frame: bytes) -> bool:
        """Frames at or below the replay's last id were in the replay; frames without an id
        (keep-alive, resync, subscribed) pass."""
        if frame.startswith(b"id: "):
            event_id = frame_event_id(frame)
            if event_id <= replayed_up_to:
                return False
            if event_id > tab.last_event_id:
                tab.last_event_id = event_id
        return True

    def at_once(frame: bytes) -> bool:
        return not passes(frame) or send_at_once(send, _body(frame))

    subscriber.direct = at_once if can_send_at_once(send) else None
    try:
        while (frame := await subscriber.next()) is not None:
            if passes(frame):
                await send(_body(frame))
    finally:
        subscriber.direct = None


def _body(frame: bytes) -> Message:
    return {"type": "http.response.body", "body": frame, "more_body": True}


async def _end_on_disconnect(receive: Receive, subscriber: LiveSubscriber) -> None:
    # The server does not fail a write to a closed connection: only receive() tells.
    while (await receive())["type"] != "http.disconnect":
        pass
    subscriber.close()


async def _start(scope: Scope, send: Send, status: int, headers: list[tuple[bytes, bytes]]) -> None:
    """The response's head, through the app's before-send hooks as every other response's is:
    the one list of security headers (web/plumbing/headers.py) and the request log line
    (web/plumbing/logs.py).
    The frames after it skip the hooks, which look at heads only."""
    message: Message = {"type": "http.response.start", "status": status, "headers": headers}
    await run_before_send(message, scope)
    await send(message)


async def _refuse(
    scope: Scope, send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> None:
    await _start(scope, send, status, [*headers, (b"content-length", b"%d" % len(body))])
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _last_event_id(raw: str) -> int | None:
    raw = raw.strip()
    return int(raw) if _EVENT_ID.fullmatch(raw) else None


class Changed(msgspec.Struct, rename="camel"):
    user_id: int
    version: int


class SyncAnswer(msgspec.Struct):
    changes: list[Changed]


@get("/events/sync", sync_to_thread=True)
def sync_avatars(
    request: Request[Any, Any, Any], db: DB, avatars: FromQuery[str] = ""
) -> Response[Any]:
    """`?avatars=42:7,43:3` (member:version as the page shows them): 304 when all are current,
    else the members whose picture changed and their current version."""
    shown = parse_avatars(avatars)
    current = sync.current_versions(db, shown)
    viewer_id = signed_in_id(request.scope)
    if viewer_id is not None and viewer_id in current and shown[viewer_id] == current[viewer_id]:
        sync.confirm_current(db, user_id=viewer_id)
    changed = [Changed(user, v) for user, v in current.items() if shown[user] != v]
    headers = {"Cache-Control": "no-store"}
    if not changed:
        return Response(b"", status_code=304, headers=headers)
    return Response(SyncAnswer(changed), headers=headers)


def parse_avatars(raw: str) -> dict[int, int]:
    """Parse "42:7,43:3" to {42: 7, 43: 3}; a member shown at two versions counts at the older."""
    shown: dict[int, int] = {}
    for item in filter(None, raw.split(",")):
        match = _CLAIM.fullmatch(item.strip())
        if match is None:
            raise ValidationException(f"avatars: {item!r} is not member:version")
        user, version = int(match[1]), int(match[2])
        shown[user] = min(version, shown.get(user, version))
    if len(shown) > MAX_AVATARS:
        raise ValidationException(f"avatars: at most {MAX_AVATARS} members per request")
    return shown
