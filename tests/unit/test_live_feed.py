"""Each event once and in order, with Redis only the doorbell: the feed (in-order delivery with
gaps read from the database), the Redis transport that never dies (against a redis-server of
the test's own, killed and started again), and the two together in a running app."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import replace

import pytest
from anyio import to_thread
from litestar import Litestar
from sqlalchemy import Engine
from sqlmodel import Session

from tests.conftest import Migrate
from tests.factories import add_member
from tests.private_redis import PrivateRedis
from tests.services import fresh_redis_prefix
from web.app import create_app
from web.live.channel import CHANNEL, RESYNC, sse_frame
from web.live.feed import CATCH_UP_SECONDS, EventFeed
from web.live.hub import live_hub
from web.live.transport import BACKOFF_MAX, RedisTransport, redis_client
from web.services import sync
from web.services.commits import Change
from web.services.sync import record_change
from web.settings import Settings


def committed(engine: Engine, user_id: int, count: int = 1) -> list[Change]:
    """Changes committed and published nowhere: only the database knows them."""
    made = []
    with Session(engine) as db:
        for _ in range(count):
            made.append(record_change(db, user_id=user_id, kind="uploaded"))
            db.commit()
    return made


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


class Delivered(list[bytes]):
    def ids(self) -> list[int]:
        return [int(frame.split(b"\n")[0][4:]) for frame in self if frame.startswith(b"id: ")]


@pytest.fixture
def engine(app: Litestar) -> Engine:
    engine: Engine = app.state["engine"]
    return engine


@pytest.fixture
def delivered() -> Delivered:
    return Delivered()


@pytest.fixture
async def feed(engine: Engine, delivered: Delivered) -> EventFeed:
    feed = EventFeed(engine, delivered.append)
    await feed.start()
    return feed


# The feed.


@pytest.mark.anyio
async def test_feed_starts_at_the_newest_event_and_delivers_nothing_older(
    engine: Engine, alice: int
) -> None:
    [*_, newest] = committed(engine, alice, 3)
    delivered = Delivered()
    feed = EventFeed(engine, delivered.append)
    await feed.start()
    assert feed.last == newest.event_id
    assert delivered == []


@pytest.mark.anyio
async def test_feed_delivers_the_next_frame_as_the_same_bytes(
    feed: EventFeed, delivered: Delivered, engine: Engine, alice: int
) -> None:
    [made] = committed(engine, alice)
    frame = sse_frame(made)
    await feed.arrive(frame)
    assert delivered == [frame]
    assert delivered[0] is frame  # one encode per change, whatever the stream count


@pytest.mark.anyio
async def test_feed_drops_a_frame_it_delivered_already(
    feed: EventFeed, delivered: Delivered, engine: Engine, alice: int
) -> None:
    [made] = committed(engine, alice)
    await feed.arrive(sse_frame(made))
    await feed.arrive(sse_frame(made))
    assert delivered.ids() == [made.event_id]


@pytest.mark.anyio
async def test_feed_reads_a_gap_from_the_database_and_delivers_in_order(
    feed: EventFeed, delivered: Delivered, engine: Engine, alice: int
) -> None:
    first, lost, late = committed(engine, alice, 3)
    await feed.arrive(sse_frame(first))
    await feed.arrive(sse_frame(late))  # the doorbell for `lost` never rang
    await feed.arrive(sse_frame(lost))  # or it rang late: a duplicate by now
    assert delivered.ids() == [first.event_id, lost.event_id, late.event_id]
    assert feed.last == late.event_id


@pytest.mark.anyio
async def test_feed_catch_up_delivers_changes_whose_doorbell_never_rang(
    feed: EventFeed, delivered: Delivered, engine: Engine, alice: int
) -> None:
    made = committed(engine, alice, 2)
    await feed.catch_up()
    await feed.catch_up()
    assert delivered == [sse_frame(change) for change in made]


@pytest.mark.anyio
async def test_feed_keeps_its_place_while_the_database_cannot_be_read(
    feed: EventFeed,
    delivered: Delivered,
    engine: Engine,
    alice: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = feed.last
    [made] = committed(engine, alice)
    with monkeypatch.context() as patched:
        patched.setattr(feed, "_read", _database_down)
        await feed.catch_up()
        assert (delivered, feed.last) == ([], before)
    await feed.catch_up()
    assert delivered.ids() == [made.event_id]


def _database_down(_last: int | None) -> None:
    raise OSError("connection refused")


@pytest.mark.anyio
async def test_feed_far_behind_tells_streams_to_resync(
    feed: EventFeed,
    delivered: Delivered,
    engine: Engine,
    alice: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sync, "replay_since", functools.partial(sync.replay_since, limit=2))
    [*_, newest] = committed(engine, alice, 4)
    await feed.catch_up()
    assert delivered == [RESYNC]
    assert feed.last == newest.event_id


# The transport, against a redis-server the test kills and starts again.


async def read_into(transport: RedisTransport, heard: asyncio.Queue[bytes]) -> None:
    async for _channel, data in transport.stream_events():
        heard.put_nowait(data)


@pytest.mark.anyio
async def test_transport_publish_drops_without_raising_while_redis_is_down(
    redis_server: PrivateRedis,
) -> None:
    transport = RedisTransport(redis=redis_client(redis_server.url), prefix=fresh_redis_prefix())
    assert await transport.send(b"up", [CHANNEL])
    redis_server.kill()
    assert not await transport.send(b"down", [CHANNEL])
    await transport.publish(b"down", [CHANNEL])  # what the plugin's task awaits: no exception
    await transport.on_shutdown()


@pytest.mark.anyio
async def test_transport_resubscribes_after_redis_restarts_and_logs_the_outage_once(
    redis_server: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ppsync.live")
    prefix = fresh_redis_prefix()
    transport = RedisTransport(redis=redis_client(redis_server.url), prefix=prefix)
    sender = RedisTransport(redis=redis_client(redis_server.url), prefix=prefix)
    subscriptions: list[float] = []
    transport.on_subscribed = lambda: subscriptions.append(time.monotonic())
    await transport.on_startup()
    await transport.subscribe([CHANNEL])
    heard: asyncio.Queue[bytes] = asyncio.Queue()
    reader = asyncio.create_task(read_into(transport, heard))
    try:
        await eventually(lambda: transport.connected)
        assert await sender.send(b"before", [CHANNEL])
        async with asyncio.timeout(5):
            assert await heard.get() == b"before"
        redis_server.kill()
        await eventually(lambda: not transport.connected)
        await asyncio.sleep(1.0)  # several failed reconnects: each must stay quiet
        await to_thread.run_sync(redis_server.start)
        await eventually(lambda: transport.connected, BACKOFF_MAX + 2)
        assert await sender.send(b"after", [CHANNEL])
        async with asyncio.timeout(5):
            assert await heard.get() == b"after"
    finally:
        reader.cancel()
        await transport.on_shutdown()
        await sender.on_shutdown()
    assert len(subscriptions) == 2  # at start, and again after the restart
    said = [r.getMessage() for r in caplog.records if r.name == "ppsync.live"]
    assert len([m for m in said if "lost the connection to Redis" in m]) == 1
    assert len([m for m in said if "Redis is back" in m]) == 1
    assert not [m for m in said if "cannot reach Redis" in m]


# Both, in a running app: a change made while Redis is down reaches an open stream, once.


@pytest.fixture
def redis_app(settings: Settings, redis_server: PrivateRedis, migrated: Migrate) -> Litestar:
    migrated(settings.database_url)
    prefix = fresh_redis_prefix()
    return create_app(replace(settings, redis_url=redis_server.url, redis_prefix=prefix))


def change_and_publish(app: Litestar, user_id: int) -> Change:
    [made] = committed(app.state["engine"], user_id)
    live_hub(app).publish(made)
    return made


@pytest.mark.anyio
async def test_change_made_while_redis_is_down_reaches_an_open_stream_once_in_order(
    redis_app: Litestar, redis_server: PrivateRedis
) -> None:
    with Session(redis_app.state["engine"]) as db:
        alice = add_member(db, "alice")
    async with redis_app.lifespan():
        hub = live_hub(redis_app)
        await eventually(lambda: hub.events_state == "ok")
        stream, _replay = await hub.open(
            viewer_id=None, user_agent="t", last_event_id=None, members=frozenset({alice})
        )
        before = change_and_publish(redis_app, alice)
        redis_server.kill()
        await eventually(lambda: hub.events_state == "reconnecting")
        during = change_and_publish(redis_app, alice)  # its publish is dropped
        await to_thread.run_sync(redis_server.start)
        await eventually(lambda: hub.events_state == "ok", BACKOFF_MAX + 2)
        after = change_and_publish(redis_app, alice)
        frames = []
        async with asyncio.timeout(CATCH_UP_SECONDS + 2):
            while len(frames) < 3:
                frame = await stream.subscriber.next()
                assert frame is not None
                frames.append(frame)
        await asyncio.sleep(0.2)  # time enough for a duplicate to show
        assert stream.subscriber.qsize == 0
        hub.close(stream)
    assert frames == [sse_frame(before), sse_frame(during), sse_frame(after)]


@pytest.mark.anyio
async def test_an_error_delivering_one_event_is_logged_and_the_next_still_goes_out(
    app: Litestar, alice: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with app.lifespan():
        hub = live_hub(app)
        stream, _replay = await hub.open(
            viewer_id=None, user_agent="t", last_event_id=None, members=frozenset({alice})
        )
        arrive = hub.feed.arrive
        failures = [RuntimeError("a bug")]

        async def fails_once(frame: bytes) -> None:
            if failures:
                raise failures.pop()
            await arrive(frame)

        monkeypatch.setattr(hub.feed, "arrive", fails_once)
        lost, later = change_and_publish(app, alice), change_and_publish(app, alice)
        async with asyncio.timeout(2):
            frames = [await stream.subscriber.next(), await stream.subscriber.next()]
        assert hub.events_state == "ok"
        hub.close(stream)
    assert frames == [sse_frame(lost), sse_frame(later)]  # the gap was read from the database
    assert "live: could not deliver an event" in caplog.text
