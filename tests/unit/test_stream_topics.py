"""Streams carry what is on screen: each /events stream follows a set of members (its URL's
`members`, then POST /events/subscriptions), the viewer always among them, and is sent only
their events; the registry's index makes a change cost its watchers alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlmodel import Session

from db.types import utcnow
from tests.conftest import Migrate
from tests.factories import add_member
from tests.forms import cookie_header, signed_in_cookies
from tests.private_redis import PrivateRedis
from tests.services import fresh_redis_prefix
from tests.unit.test_events import SseClient, change, change_sync, hub_of, ids, running
from web.app import create_app
from web.live.channel import RESYNC, frame_member_id, sse_frame, subscribed_frame
from web.live.streams import StreamRegistry
from web.live.topics import members_of_query
from web.services import sync
from web.services.commits import Change
from web.services.sync_sessions import LiveSession
from web.settings import Settings

CEILING = 3


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, events_members_per_stream=CEILING)


def tab(tab_id: str) -> LiveSession:
    return LiveSession(tab_id, None, "t", utcnow(), 0)


def queued(registry: StreamRegistry) -> dict[str, list[bytes]]:
    return {s.tab.id: list(s.subscriber._items) for s in registry.streams}


# The index: member -> streams.


def test_a_frame_names_its_member_and_a_resync_names_none() -> None:
    assert frame_member_id(sse_frame(Change(5, 42, 1, "uploaded"))) == 42
    assert frame_member_id(sse_frame(Change(6, 42, 1, "tokens"))) == 42
    assert frame_member_id(RESYNC) is None
    assert frame_member_id(subscribed_frame(3)) is None


def test_a_change_goes_to_the_streams_following_its_member_and_a_resync_to_all() -> None:
    registry = StreamRegistry()
    registry.add(tab("a"), frozenset({1, 2}))
    registry.add(tab("b"), frozenset({2, 3}))
    registry.add(tab("c"), frozenset())
    registry.deliver(one := sse_frame(Change(1, 1, 1, "uploaded")))
    registry.deliver(two := sse_frame(Change(2, 2, 1, "uploaded")))
    registry.deliver(sse_frame(Change(3, 9, 1, "uploaded")))  # nobody follows 9
    registry.deliver(RESYNC)
    assert queued(registry) == {"a": [one, two, RESYNC], "b": [two, RESYNC], "c": [RESYNC]}


def test_a_new_set_moves_the_stream_between_members_and_an_older_one_is_ignored() -> None:
    registry = StreamRegistry()
    stream = registry.add(tab("a"), frozenset({1, 2}))
    assert registry.resubscribe(stream, frozenset({2, 3}), seq=2)
    assert not registry.resubscribe(stream, frozenset({1}), seq=1)  # arrived late
    assert stream.members == (2, 3)
    assert set(registry.topics) == {2, 3}
    assert stream.subscriber._items == [subscribed_frame(2)]


def test_closing_the_streams_empties_the_index() -> None:
    registry = StreamRegistry()
    streams = [registry.add(tab(name), frozenset({1, 2})) for name in ("a", "b")]
    registry.close(streams[0])
    assert registry.topics == {1: {streams[1]}, 2: {streams[1]}}
    registry.discard(streams[1])
    assert registry.topics == {} and registry.by_id == {}


# The set in the stream's URL.


def test_the_url_names_members_up_to_the_ceiling_and_numbers_the_set() -> None:
    assert members_of_query(b"members=3,1,3", 3) == ({1, 3}, 0)
    assert members_of_query(b"members=1%2C2&other=x&seq=7", 3) == ({1, 2}, 7)
    assert members_of_query(b"", 3) == (frozenset(), 0)
    with pytest.raises(ValueError, match="at most 3 per stream"):
        members_of_query(b"members=1,2,3,4", 3)


@pytest.mark.parametrize(
    "query", [b"members=0", b"members=-1", b"members=x", b"members=2147483648", b"members=1e3",
              b"members=1&members=2", b"members=" + b"9" * 30, b"seq=-1", b"seq=1&seq=2",
              b"seq=" + b"9" * 17, b"seq=x"]
)  # fmt: skip
def test_the_url_refuses_what_is_not_a_member_id(query: bytes) -> None:
    with pytest.raises(ValueError, match="^(members|seq): "):
        members_of_query(query, 3)


@pytest.mark.anyio
async def test_a_stream_asked_for_too_many_members_is_400_saying_so(app: Litestar) -> None:
    async with running(app) as open_stream:
        client = open_stream(range(1, CEILING + 2))
        start = await client.start()
        message = await client.messages.get()
    assert start["status"] == 400
    assert message["body"] == b"members: at most 3 per stream (EVENTS_MEMBERS_PER_STREAM)"
    assert hub_of(app).per_client == {}


# What a stream is sent.


@pytest.mark.anyio
async def test_a_stream_is_sent_its_members_events_and_its_viewers_and_no_others(
    app: Litestar, db: Session, alice: int
) -> None:
    bob, carol = add_member(db, "bob"), add_member(db, "carol")
    cookies = signed_in_cookies(app, "alice")
    async with running(app) as open_stream:
        client = open_stream([bob], Cookie=cookie_header(cookies))
        await client.start()
        await client.frames(1)
        change(app, carol)  # nobody here follows carol
        wanted = [change(app, bob), change(app, alice)]
        frames = await client.frames(2)
    assert ids(frames) == [made.event_id for made in wanted]


@pytest.mark.anyio
async def test_the_replay_is_of_the_streams_members_and_ends_at_the_newest_event(
    app: Litestar, db: Session, alice: int
) -> None:
    bob = add_member(db, "bob")
    seen = change_sync(app, alice)
    missed = change_sync(app, alice)
    newest = change_sync(app, bob)
    assert sync.replay_since(db, seen.event_id, members={alice}) == sync.Replay(
        (missed,), newest.event_id
    )
    async with running(app) as open_stream:
        client = open_stream([alice], **{"Last-Event-ID": str(seen.event_id)})
        await client.start()
        opening = await client.frames(2)
        live = change(app, bob), change(app, alice)
        [frame] = await client.frames(1)
    assert ids(opening) == [missed.event_id, newest.event_id]  # the second is sync-ready's
    assert ids([frame]) == [live[1].event_id]


# POST /events/subscriptions.


@asynccontextmanager
async def poster(
    app: Litestar, cookies: dict[str, str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the test's own loop (the streams' loop), with a CSRF token."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", cookies=cookies
    ) as http:
        if "csrftoken" not in http.cookies:
            await http.get("/login")
        http.headers["X-CSRFToken"] = http.cookies["csrftoken"]
        yield http


async def stream_id(client: SseClient, *, skip: int = 0) -> str:
    await client.start()
    *_, ready = await client.frames(skip + 1)
    return ready.split(b'"stream":"')[1].split(b'"')[0].decode()


def body(stream: str, seq: int, members: Iterable[Any]) -> dict[str, Any]:
    return {"stream": stream, "seq": seq, "members": list(members)}


@pytest.mark.anyio
async def test_a_new_set_is_in_force_once_the_stream_says_subscribed(
    app: Litestar, db: Session, alice: int
) -> None:
    bob = add_member(db, "bob")
    async with running(app) as open_stream, poster(app) as http:
        client = open_stream([alice])
        stream = await stream_id(client)
        answer = await http.post("/events/subscriptions", json=body(stream, 1, [bob]))
        assert answer.status_code == 204
        assert await client.frames(1) == [subscribed_frame(1)]
        change(app, alice)  # no longer followed
        wanted = change(app, bob)
        [frame] = await client.frames(1)
    assert ids([frame]) == [wanted.event_id]


@pytest.mark.anyio
async def test_the_viewer_stays_followed_whatever_the_set(app: Litestar, alice: int) -> None:
    cookies = signed_in_cookies(app, "alice")
    async with running(app) as open_stream, poster(app, cookies) as http:
        client = open_stream([], Cookie=cookie_header(cookies))
        stream = await stream_id(client)
        answer = await http.post("/events/subscriptions", json=body(stream, 1, []))
        assert answer.status_code == 204
        await client.frames(1)
        made = change(app, alice)
        assert ids(await client.frames(1)) == [made.event_id]
        assert hub_of(app).registry.by_id[stream].members == (alice,)


@pytest.mark.anyio
async def test_a_set_at_the_ceiling_is_taken_and_one_past_it_is_400(app: Litestar) -> None:
    async with running(app) as open_stream, poster(app) as http:
        stream = await stream_id(open_stream())
        at = await http.post("/events/subscriptions", json=body(stream, 1, range(1, CEILING + 1)))
        past = await http.post("/events/subscriptions", json=body(stream, 2, range(1, CEILING + 2)))
    assert at.status_code == 204
    assert past.status_code == 400
    assert "at most 3 per stream" in past.text
    assert hub_of(app).registry.topics == {}  # the stream has ended; nothing left behind


@pytest.mark.parametrize(
    "change_",
    [
        {"stream": "x" * 32, "seq": 1, "members": [1]},
        {"stream": "A" * 32, "seq": 1, "members": [1]},
        {"seq": 1, "members": [1]},
        {"stream": "a" * 32, "seq": 0, "members": [1]},
        {"stream": "a" * 32, "seq": 2**60, "members": [1]},
        {"stream": "a" * 32, "seq": 1, "members": [0]},
        {"stream": "a" * 32, "seq": 1, "members": [2**31]},
        {"stream": "a" * 32, "seq": 1, "members": ["one"]},
        {"stream": "a" * 32, "seq": 1, "members": [1.5]},
        {"stream": "a" * 32, "seq": 1, "members": [[1]]},
        {"stream": "a" * 32, "seq": 1, "members": {"1": 1}},
        {"stream": "a" * 32, "seq": 1, "members": [1], "viewer": 1},
    ],
)
@pytest.mark.anyio
async def test_a_hostile_change_is_400(app: Litestar, change_: dict[str, Any]) -> None:
    async with app.lifespan(), poster(app) as http:
        answer = await http.post("/events/subscriptions", json=change_)
    assert answer.status_code == 400, answer.text


@pytest.mark.anyio
async def test_an_unknown_stream_is_404_without_redis(app: Litestar) -> None:
    async with app.lifespan(), poster(app) as http:
        answer = await http.post("/events/subscriptions", json=body("a" * 32, 1, [1]))
    assert answer.status_code == 404


@pytest.mark.anyio
async def test_a_change_without_a_csrf_token_is_403(app: Litestar) -> None:
    async with running(app) as open_stream, poster(app) as http:
        stream = await stream_id(open_stream())
        del http.headers["X-CSRFToken"]
        answer = await http.post("/events/subscriptions", json=body(stream, 1, [1]))
    assert answer.status_code == 403


# Several processes: the change travels through Redis to the stream's.


@pytest.fixture
def two_apps(
    settings: Settings, redis_server: PrivateRedis, migrated: Migrate
) -> tuple[Litestar, Litestar]:
    migrated(settings.database_url)
    shared = replace(settings, redis_url=redis_server.url, redis_prefix=fresh_redis_prefix())
    return create_app(shared), create_app(shared)


@pytest.mark.anyio
async def test_a_change_posted_to_another_process_reaches_the_stream_through_redis(
    two_apps: tuple[Litestar, Litestar], redis_server: PrivateRedis
) -> None:
    posted_to, holder = two_apps
    async with posted_to.lifespan(), running(holder) as open_stream, poster(posted_to) as http:
        await _connected(posted_to, holder)
        client = open_stream()
        stream = await stream_id(client)
        answer = await http.post("/events/subscriptions", json=body(stream, 4, [7]))
        assert answer.status_code == 202
        assert await client.frames(1) == [subscribed_frame(4)]
        assert hub_of(holder).registry.by_id[stream].members == (7,)
        redis_server.kill()
        answer = await http.post("/events/subscriptions", json=body(stream, 5, [8]))
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "1"


async def _connected(*apps: Litestar) -> None:
    async with asyncio.timeout(5):
        while any(hub_of(app).events_state != "ok" for app in apps):
            await asyncio.sleep(0.01)


@pytest.mark.anyio
async def test_a_live_resync_reaches_every_stream_and_ends_none(app: Litestar, alice: int) -> None:
    async with running(app) as open_stream:
        following, other = open_stream([alice]), open_stream()
        for client in (following, other):
            await client.start()
            await client.frames(1)
        hub_of(app).registry.deliver(RESYNC)  # as a catch-up too far behind delivers it
        assert await following.frames(1) == [RESYNC]
        assert await other.frames(1) == [RESYNC]
        made = change(app, alice)
        assert ids(await following.frames(1)) == [made.event_id]
