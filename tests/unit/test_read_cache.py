"""The read cache (web/caches/reads.py): filled from the database, dropped by every change this
process commits or its hub delivers, bounded, and never a second truth."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine, insert, update
from sqlmodel import Session, col, select

from db.models import SyncEvent, User, UserProfile
from tests.factories import add_member
from web.caches.reads import MISSING_SECONDS, NO_MEMBER, FileCache, ReadCache, read_member
from web.live.channel import RESYNC, sse_frame
from web.live.feed import CATCH_UP_SECONDS
from web.live.hub import live_hub
from web.services.commits import Change
from web.services.sync import record_change


def cache_of(app: Litestar) -> ReadCache:
    cache: ReadCache = app.state["reads"]
    return cache


def _no_database(*_args: object) -> None:
    raise AssertionError("the database was read")


def test_a_cached_member_is_answered_without_the_database(
    client: TestClient[Any], app: Litestar, alice: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = client.get(f"/components/avatar/{alice}")
    monkeypatch.setattr("web.caches.reads.read_member", _no_database)
    again = client.get(
        f"/components/avatar/{alice}", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304


def test_a_commit_in_this_process_drops_the_member_before_it_returns(
    app: Litestar, db: Session, alice: int
) -> None:
    cache = cache_of(app)
    assert cache.load(alice).avatar is not None
    change = record_change(db, user_id=alice, kind="updated")
    assert cache.get(alice) is not None  # not committed yet: nothing changed
    db.commit()
    assert cache.get(alice) is None
    reloaded = cache.load(alice).avatar
    assert reloaded is not None and reloaded.version == change.version


def test_a_change_of_this_process_drops_once_and_not_again_when_its_event_arrives(
    app: Litestar, db: Session, alice: int
) -> None:
    cache = cache_of(app)
    cache.load(alice)
    change = record_change(db, user_id=alice, kind="updated")
    db.commit()
    assert cache.get(alice) is None
    assert cache.load(alice).avatar is not None  # read after the commit: current
    cache.on_frame(sse_frame(change))  # the hub delivers this process's own event back
    assert cache.get(alice) is not None
    cache.on_frame(sse_frame(Change(change.event_id + 1, alice, change.version + 1, "updated")))
    assert cache.get(alice) is None  # another process's change still drops it


def test_a_rolled_back_change_drops_nothing_at_rollback(
    app: Litestar, db: Session, alice: int
) -> None:
    cache = cache_of(app)
    cache.load(alice)
    record_change(db, user_id=alice, kind="updated")
    db.rollback()
    assert cache.get(alice) is not None


def test_another_process_change_arrives_as_a_hub_frame(app: Litestar, alice: int) -> None:
    cache = cache_of(app)
    cache.load(alice)
    cache.on_frame(sse_frame(Change(event_id=9, user_id=alice + 1, version=3, kind="uploaded")))
    assert cache.get(alice) is not None
    cache.on_frame(sse_frame(Change(event_id=10, user_id=alice, version=3, kind="uploaded")))
    assert cache.get(alice) is None


def test_a_resync_drops_everything(app: Litestar, alice: int) -> None:
    cache = cache_of(app)
    cache.load(alice)
    cache.on_frame(RESYNC)
    assert cache.get(alice) is None


def test_a_read_that_raced_a_drop_is_not_kept(
    app: Litestar, alice: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = cache_of(app)

    def read_then_changed(engine: Any, user_id: int) -> Any:
        reads = read_member(engine, user_id)
        cache.forget({user_id})  # a change committed while we were reading
        return reads

    monkeypatch.setattr("web.caches.reads.read_member", read_then_changed)
    assert cache.load(alice).avatar is not None  # answered...
    assert cache.get(alice) is None  # ...but not kept


def test_members_are_bounded_least_recently_used_out(app: Litestar, db: Session) -> None:
    ids = [add_member(db, f"member{i}", f"M {i}") for i in range(3)]
    cache = ReadCache(app.state["engine"], capacity=2)
    cache.load(ids[0])
    cache.load(ids[1])
    cache.get(ids[0])  # used: ids[1] is now the oldest
    cache.load(ids[2])
    assert cache.get(ids[1]) is None
    assert cache.get(ids[0]) is not None and cache.get(ids[2]) is not None


def test_a_member_added_in_this_process_is_found_at_once_though_read_missing(
    client: TestClient[Any], app: Litestar, db: Session
) -> None:
    assert client.get("/components/avatar/1").status_code == 404
    assert cache_of(app).get(1) is NO_MEMBER
    assert add_member(db, "alice") == 1
    assert client.get("/components/avatar/1").status_code == 200


def test_an_unknown_member_asked_for_again_and_again_reads_the_database_once(
    client: TestClient[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[int] = []

    def counted(engine: Engine, user_id: int) -> Any:
        reads.append(user_id)
        return read_member(engine, user_id)

    monkeypatch.setattr("web.caches.reads.read_member", counted)
    statuses = {client.get("/components/avatar/999").status_code for _ in range(20)}
    statuses |= {client.get("/media/avatars/999/abc-64.webp").status_code for _ in range(20)}
    assert statuses == {404}
    assert reads == [999]


def test_missing_ids_are_bounded_and_never_push_out_a_member(
    app: Litestar, alice: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("web.caches.reads.MISSING", 3)
    cache = ReadCache(app.state["engine"], capacity=1)
    cache.load(alice)
    for made_up in range(1000, 1010):
        cache.load(made_up)
    assert [cache.get(n) for n in range(1000, 1010)] == [None] * 7 + [NO_MEMBER] * 3
    assert cache.get(alice) is not None


def test_a_member_added_by_another_process_is_found_after_missing_seconds(
    app: Litestar, db: Session
) -> None:
    now = [100.0]
    cache = ReadCache(app.state["engine"], clock=lambda: now[0])
    assert cache.load(1).avatar is None
    with app.state["engine"].begin() as other_process:  # no ORM session: no hook of ours
        other_process.execute(
            insert(User).values(id=1, handle="alice", display_name="A", password_hash="x")
        )
        other_process.execute(insert(UserProfile).values(user_id=1))
    assert cache.get(1) is NO_MEMBER
    now[0] += MISSING_SECONDS
    assert cache.get(1) is None
    assert cache.load(1).avatar is not None


def test_file_bytes_are_bounded_by_their_total_size() -> None:
    files = FileCache(budget=10)
    files.put("a", b"12345")
    files.put("b", b"12345")
    files.put("c", b"1")
    assert files.get("a") is None
    assert files.get("b") == b"12345" and files.get("c") == b"1"
    files.put("big", b"x" * 11)
    assert files.get("big") is None


def committed_elsewhere(engine: Engine, user_id: int) -> None:
    """A change as another process commits it: in the database, never through this process's
    sessions (so its commit hook never sees it) and published nowhere."""
    with engine.begin() as connection:
        connection.execute(
            update(UserProfile)
            .where(col(UserProfile.user_id) == user_id)
            .values(picture_version=UserProfile.picture_version + 1)
        )
        version = connection.scalar(
            select(UserProfile.picture_version).where(col(UserProfile.user_id) == user_id)
        )
        connection.execute(
            insert(SyncEvent).values(user_id=user_id, kind="updated", picture_version=version)
        )


@pytest.mark.anyio
async def test_another_process_change_read_by_the_feed_drops_the_member(
    app: Litestar, alice: int
) -> None:
    cache = cache_of(app)
    async with app.lifespan():
        before = cache.load(alice).avatar
        committed_elsewhere(app.state["engine"], alice)
        assert cache.get(alice) is not None  # no doorbell: only the database knows
        live_hub(app).catch_up_soon()  # what the feed does every CATCH_UP_SECONDS
        async with asyncio.timeout(CATCH_UP_SECONDS):
            while cache.get(alice) is not None:
                await asyncio.sleep(0.02)
        after = cache.load(alice).avatar
    assert before is not None and after is not None
    assert after.version == before.version + 1
