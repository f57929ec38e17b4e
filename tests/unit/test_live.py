"""The pieces of live sync without HTTP: frames, the channels plugin, replay, pruning, sessions."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from datetime import timedelta
from pathlib import Path

import pytest
from anyio import to_thread
from litestar import Litestar
from sqlalchemy import Engine
from sqlmodel import Session, select

from db import migrate
from db.engine import make_engine
from db.models import SyncEvent, SyncSession, UserProfile
from db.types import utcnow
from tests.factories import add_member
from tests.services import fresh_postgres_database, fresh_redis_prefix, redis_url
from web.live.channel import (
    CHANNEL,
    LiveSubscriber,
    channels_plugin,
    frame_event_id,
    opening_frames,
    publish_outside_app,
    sse_frame,
    transport,
)
from web.live.hub import live_hub
from web.live.transport import RedisTransport
from web.services import sync, sync_sessions
from web.services.commits import Change
from web.services.sync import Replay, record_change
from web.services.sync_sessions import LiveSession
from web.settings import Settings


def change(db: Session, user_id: int, kind: str = "uploaded") -> Change:
    made = record_change(db, user_id=user_id, kind=kind)
    db.commit()
    return made


def age_events(db: Session, *, hours: int) -> None:
    for event in db.exec(select(SyncEvent)).all():
        event.created_at = utcnow() - timedelta(hours=hours)
    db.commit()


def test_frame_is_id_event_and_camel_case_json() -> None:
    frame = sse_frame(Change(event_id=12, user_id=42, version=7, kind="restored"))
    assert frame == (
        b'id: 12\nevent: avatar-42\ndata: {"userId":42,"version":7,"kind":"restored"}\n\n'
    )
    assert frame_event_id(frame) == 12


def test_opening_frames_end_with_ready_carrying_retry_and_last_id() -> None:
    replayed = (Change(5, 1, 2, "uploaded"), Change(6, 2, 1, "deleted"))
    frames = opening_frames(Replay(replayed, 6)).split(b"\n\n")
    assert [frame.split(b"\n")[0] for frame in frames[:2]] == [b"id: 5", b"id: 6"]
    assert frames[2].startswith(b"retry: 1000\nid: 6\nevent: sync-ready\n")


def test_opening_frames_for_a_resync() -> None:
    frames = opening_frames(Replay((), 9, resync=True)).split(b"\n\n")
    assert frames[0] == b"event: resync\ndata: {}"
    assert b"id: 9\nevent: sync-ready" in frames[1]


def test_record_change_bumps_version_and_numbers_events_in_order(db: Session, alice: int) -> None:
    first, second = change(db, alice), change(db, alice, "deleted")
    assert (first.version, second.version) == (1, 2)
    assert second.event_id > first.event_id
    profile = db.get(UserProfile, alice)
    assert profile is not None and profile.picture_version == 2


def test_record_change_refuses_an_unknown_kind(db: Session, alice: int) -> None:
    with pytest.raises(ValueError, match="unknown change kind"):
        record_change(db, user_id=alice, kind="renamed")


def test_fresh_tab_replays_nothing_and_starts_at_the_newest_id(db: Session, alice: int) -> None:
    last = change(db, alice)
    assert sync.replay_since(db, None) == Replay((), last.event_id)


def test_replay_sends_only_the_missed_events_in_order(db: Session, alice: int) -> None:
    bob = add_member(db, "bob", "Bob")
    seen = change(db, alice)
    missed = [change(db, bob), change(db, alice, "restored"), change(db, bob, "deleted")]
    replay = sync.replay_since(db, seen.event_id)
    assert replay == Replay(tuple(missed), missed[-1].event_id)


def test_replay_when_nothing_was_missed_keeps_the_tabs_id(db: Session, alice: int) -> None:
    last = change(db, alice)
    assert sync.replay_since(db, last.event_id) == Replay((), last.event_id)


def test_replay_past_the_kept_window_is_a_resync(db: Session, alice: int) -> None:
    seen = change(db, alice)
    change(db, alice)
    newest = change(db, alice)
    age_events(db, hours=25)
    assert sync.prune_events(db) == 2
    db.commit()
    assert sync.replay_since(db, seen.event_id) == Replay((), newest.event_id, resync=True)


def test_replay_of_an_id_this_database_never_issued_is_a_resync(db: Session, alice: int) -> None:
    newest = change(db, alice)
    assert sync.replay_since(db, newest.event_id + 100) == Replay((), newest.event_id, True)


def test_replay_of_more_than_the_limit_is_a_resync(db: Session, alice: int) -> None:
    seen = change(db, alice)
    for _ in range(3):
        change(db, alice)
    assert sync.replay_since(db, seen.event_id, limit=2).resync


def test_prune_keeps_the_newest_event_so_ids_stay_monotonic(db: Session, alice: int) -> None:
    change(db, alice)
    newest = change(db, alice)
    age_events(db, hours=48)
    sync.prune_events(db)
    db.commit()
    assert [event.id for event in db.exec(select(SyncEvent)).all()] == [newest.event_id]
    assert change(db, alice).event_id > newest.event_id


def test_current_versions_leave_out_unknown_members(db: Session, alice: int) -> None:
    change(db, alice)
    assert sync.current_versions(db, [alice, 9999]) == {alice: 1}


def test_confirm_current_writes_last_picture_sync_at_most_once_a_minute(
    db: Session, alice: int
) -> None:
    now = utcnow()
    sync.confirm_current(db, user_id=alice, now=now)
    sync.confirm_current(db, user_id=alice, now=now + timedelta(seconds=30))
    db.commit()
    profile = db.get(UserProfile, alice)
    assert profile is not None
    db.refresh(profile)
    assert profile.last_picture_sync == now


def tab(tab_id: str, viewer_id: int | None, last_event_id: int = 0) -> LiveSession:
    return LiveSession(tab_id, viewer_id, "Firefox", utcnow(), last_event_id)


def test_sessions_are_inserted_touched_and_closed_in_batches(db: Session, alice: int) -> None:
    one, two = tab("one", alice, 3), tab("two", None, 3)
    sync_sessions.save_sessions(db, opened=[one, two])
    one.last_event_id = 5
    sync_sessions.save_sessions(db, live=[one], closed=[two])
    db.commit()
    rows = {row.id: row for row in db.exec(select(SyncSession)).all()}
    assert (rows["one"].viewer_id, rows["one"].last_event_id) == (alice, 5)
    assert rows["one"].disconnected_at is None
    assert rows["two"].disconnected_at is not None


def test_session_of_a_member_that_no_longer_exists_is_saved_anonymous(db: Session) -> None:
    sync_sessions.save_sessions(db, opened=[tab("gone", 9999)])
    db.commit()
    row = db.get(SyncSession, "gone")
    assert row is not None and row.viewer_id is None


def test_stale_sessions_are_closed_and_old_closed_ones_forgotten(db: Session, alice: int) -> None:
    long_ago = utcnow() - timedelta(minutes=10)
    sync_sessions.save_sessions(db, opened=[tab("stale", alice)], now=long_ago)
    sync_sessions.save_sessions(db, opened=[tab("fresh", alice)])
    sync_sessions.close_stale_sessions(db)
    db.commit()
    stale = db.get(SyncSession, "stale")
    assert stale is not None and stale.disconnected_at == stale.last_seen_at
    sync_sessions.close_stale_sessions(db, now=utcnow() + timedelta(days=3))
    db.commit()
    assert db.get(SyncSession, "stale") is None


def test_overview_lists_live_tabs_with_their_lag(db: Session, alice: int) -> None:
    first = change(db, alice)
    change(db, alice)
    sync_sessions.save_sessions(db, opened=[tab("behind", alice, first.event_id), tab("x", None)])
    sync_sessions.save_sessions(db, closed=[tab("x", None)])
    db.commit()
    overview = sync_sessions.overview(db)
    assert [(row.viewer_handle, row.lag) for row in overview.sessions] == [("alice", 1)]
    assert overview.lagging == 1


@pytest.mark.anyio
async def test_publish_from_a_worker_thread_reaches_streams(
    app: Litestar, db: Session, alice: int
) -> None:
    hub = live_hub(app)
    async with app.lifespan():
        stream, _replay = await hub.open(
            viewer_id=None, user_agent="", last_event_id=None, members=frozenset({alice})
        )
        made = change(db, alice)
        # Sync handlers publish from worker threads; an asyncio queue must not be touched there.
        await to_thread.run_sync(hub.publish, made)
        async with asyncio.timeout(2):
            assert await stream.subscriber.next() == sse_frame(made)
        hub.close(stream)


@pytest.mark.anyio
async def test_a_subscriber_past_its_backlog_is_closed_not_blocking() -> None:
    subscriber = LiveSubscriber()
    for event_id in range(1, 100):
        subscriber.put_nowait(sse_frame(Change(event_id, 1, event_id, "uploaded")))
    assert subscriber.closed
    assert await subscriber.next() is None


def test_saving_a_new_tab_twice_is_harmless(db: Session, alice: int) -> None:
    # A save cut short by shutdown after its commit is run again by the final save.
    sync_sessions.save_sessions(db, opened=[tab("again", alice)])
    sync_sessions.save_sessions(db, opened=[tab("again", alice)])
    db.commit()
    assert db.get(SyncSession, "again") is not None


@pytest.fixture
def postgres() -> Iterator[Engine]:
    with fresh_postgres_database() as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        yield engine
        engine.dispose()


@pytest.mark.postgres
def test_postgres_commits_event_ids_in_id_order(postgres: Engine) -> None:
    """Sequence ids are taken at insert: without the lock, id 2 could commit before id 1, and a
    tab that reconnected after 2 would never be sent 1."""
    with Session(postgres) as db:
        alice, bob = add_member(db, "alice"), add_member(db, "bob")
    first = Session(postgres)
    earlier = record_change(first, user_id=alice, kind="uploaded")  # not committed yet
    with ThreadPoolExecutor(1) as pool:
        later = pool.submit(change_in_new_session, postgres, bob)
        with pytest.raises(FuturesTimeout):
            later.result(timeout=0.3)  # waits for the first to commit
        first.commit()
        first.close()
        assert later.result(timeout=5).event_id > earlier.event_id


def change_in_new_session(engine: Engine, user_id: int) -> Change:
    with Session(engine) as db:
        return change(db, user_id)


@pytest.mark.postgres
def test_postgres_replay_prune_and_sessions(postgres: Engine) -> None:
    with Session(postgres) as db:
        alice = add_member(db, "alice")
        seen = change(db, alice)
        missed = change(db, alice, "deleted")
        assert sync.replay_since(db, seen.event_id) == Replay((missed,), missed.event_id)
        sync_sessions.save_sessions(db, opened=[tab("pg", alice, seen.event_id)])
        sync_sessions.save_sessions(db, opened=[tab("pg", alice, seen.event_id)])
        age_events(db, hours=30)
        assert sync.prune_events(db) == 1
        db.commit()
        overview = sync_sessions.overview(db)
        assert [(row.viewer_handle, row.lag) for row in overview.sessions] == [("alice", 1)]


@pytest.mark.redis
@pytest.mark.anyio
async def test_redis_channels_are_kept_apart_by_prefix_and_reach_the_cli(tmp_path: Path) -> None:
    url = redis_url()

    def settings(prefix: str) -> Settings:
        return Settings(
            database_url="sqlite://",
            media_root=tmp_path,
            var_dir=tmp_path,
            secret_key="k" * 40,
            redis_url=url,
            redis_prefix=prefix,
        )

    ours, theirs = settings(fresh_redis_prefix()), settings(fresh_redis_prefix())
    backends = transport(ours), transport(theirs)
    mine, other = (channels_plugin(backend) for backend in backends)
    async with mine, other:
        heard, overheard = await mine.subscribe(CHANNEL), await other.subscribe(CHANNEL)
        # Pub/sub delivers only to a subscription already made (the feed covers the rest).
        async with asyncio.timeout(5):
            while not all(isinstance(b, RedisTransport) and b.connected for b in backends):
                await asyncio.sleep(0.01)
        made = Change(7, 1, 2, "restored")
        assert await to_thread.run_sync(publish_outside_app, ours, made)
        async with asyncio.timeout(5):
            assert await anext(heard.iter_events()) == sse_frame(made)
        await asyncio.sleep(0.2)  # time enough for a leak across prefixes to show
        assert overheard.qsize == 0
