"""The database-backed Litestar store that holds sessions, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from sqlalchemy import Engine, event, func, insert, select

from db.engine import make_engine
from db.types import utcnow
from tests.conftest import Migrate
from tests.services import fresh_postgres_database
from web.plumbing.session_store import TABLE, DatabaseStore, stored_key

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path, migrated: Migrate) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
        migrated(url)
        engine = make_engine(url)
        yield engine
        engine.dispose()
        return
    with fresh_postgres_database() as url:
        migrated(url)
        engine = make_engine(url)
        yield engine
        engine.dispose()


@pytest.fixture
def store(engine: Engine) -> DatabaseStore:
    return DatabaseStore(engine).with_namespace("sessions")


def rows(engine: Engine) -> dict[str, bytes]:
    with engine.connect() as connection:
        return dict(connection.execute(select(TABLE.c.key, TABLE.c.value)).all())


@contextmanager
def counting_writes(engine: Engine) -> Iterator[list[str]]:
    """The INSERT and UPDATE statements run on `engine` meanwhile."""
    writes: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE")):
            writes.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield writes
    finally:
        event.remove(engine, "before_cursor_execute", count)


def add_expired_row(engine: Engine, key: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(TABLE).values(key=key, value=b"old", expires_at=utcnow() - timedelta(seconds=1))
        )


async def test_set_then_get_returns_the_bytes(store: DatabaseStore) -> None:
    await store.set("a", b"\x00\xffdata", expires_in=60)
    assert await store.get("a") == b"\x00\xffdata"
    assert await store.exists("a")


async def test_text_values_are_stored_as_utf8(store: DatabaseStore) -> None:
    await store.set("a", "é")
    assert await store.get("a") == "é".encode()


async def test_missing_key_reads_as_none(store: DatabaseStore) -> None:
    assert await store.get("nope") is None
    assert not await store.exists("nope")
    assert await store.expires_in("nope") is None


async def test_set_twice_replaces_the_value_and_expiry(store: DatabaseStore) -> None:
    await store.set("a", b"one", expires_in=60)
    await store.set("a", b"two", expires_in=3600)
    assert await store.get("a") == b"two"
    assert 3590 <= (await store.expires_in("a") or 0) <= 3600


async def test_value_without_expiry_has_no_expires_in(store: DatabaseStore) -> None:
    await store.set("a", b"kept")
    assert await store.expires_in("a") is None
    assert await store.get("a") == b"kept"


async def test_expired_key_reads_as_none_and_its_row_goes(
    store: DatabaseStore, engine: Engine
) -> None:
    add_expired_row(engine, stored_key("sessions", "gone"))
    assert await store.get("gone") is None
    assert rows(engine) == {}


async def test_get_with_renew_for_pushes_the_expiry_back(store: DatabaseStore) -> None:
    await store.set("a", b"v", expires_in=10)
    assert await store.get("a", renew_for=timedelta(hours=1)) == b"v"
    assert (await store.expires_in("a") or 0) > 3500


async def test_delete_removes_one_key(store: DatabaseStore, engine: Engine) -> None:
    await store.set("a", b"1")
    await store.set("b", b"2")
    await store.delete("a")
    await store.delete("never-set")  # a no-op
    assert rows(engine) == {stored_key("sessions", "b"): b"2"}


async def test_namespaces_keep_equal_keys_apart(engine: Engine) -> None:
    root = DatabaseStore(engine)
    one, two = root.with_namespace("one"), root.with_namespace("two")
    await one.set("k", b"1")
    await two.set("k", b"2")
    assert (await one.get("k"), await two.get("k")) == (b"1", b"2")


async def test_delete_all_empties_the_namespace_and_its_children_only(engine: Engine) -> None:
    root = DatabaseStore(engine)
    parent = root.with_namespace("a_b")  # "_" is a LIKE wildcard: it must be escaped
    others = [root.with_namespace("axb"), root.with_namespace("a_bc")]
    for store in (parent, parent.with_namespace("c"), *others):
        await store.set("k", b"v")
    await parent.delete_all()
    assert set(rows(engine)) == {stored_key("axb", "k"), stored_key("a_bc", "k")}


async def test_a_write_purges_expired_rows_once_per_interval(engine: Engine) -> None:
    store = DatabaseStore(engine, purge_every=3600).with_namespace("sessions")
    add_expired_row(engine, stored_key("sessions", "stale-1"))
    await store.set("fresh-1", b"v", expires_in=60)  # first write: the sweep runs
    add_expired_row(engine, stored_key("sessions", "stale-2"))
    await store.set("fresh-2", b"v", expires_in=60)  # within the interval: no sweep
    assert set(rows(engine)) == {
        stored_key("sessions", "fresh-1"),
        stored_key("sessions", "stale-2"),
        stored_key("sessions", "fresh-2"),
    }


async def test_many_concurrent_writes_to_one_key_leave_one_row(
    store: DatabaseStore, engine: Engine
) -> None:
    async with anyio.create_task_group() as group:
        for n in range(20):
            group.start_soon(store.set, "same", b"%d" % n, 60)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(TABLE)).scalar() == 1


async def test_writing_back_what_was_read_with_the_same_lifetime_is_skipped(
    store: DatabaseStore, engine: Engine
) -> None:
    await store.set("a", b"v", expires_in=timedelta(days=14))
    with counting_writes(engine) as writes:
        for _ in range(3):  # three page views: read, write back unchanged
            assert await store.get("a") == b"v"
            await store.set("a", b"v", expires_in=timedelta(days=14))
    assert writes == []


async def test_a_changed_value_is_written(store: DatabaseStore, engine: Engine) -> None:
    await store.set("a", b"v", expires_in=timedelta(days=14))
    await store.get("a")
    await store.set("a", b"changed", expires_in=timedelta(days=14))
    assert rows(engine) == {stored_key("sessions", "a"): b"changed"}


async def test_an_expiry_pushed_back_past_the_slack_is_written(
    store: DatabaseStore, engine: Engine
) -> None:
    await store.set("a", b"v", expires_in=timedelta(days=13))
    await store.get("a")
    with counting_writes(engine) as writes:
        await store.set("a", b"v", expires_in=timedelta(days=14))
    assert len(writes) == 1
    assert (await store.expires_in("a") or 0) > 13.9 * 86400


async def test_a_row_deleted_elsewhere_is_not_revived_by_a_stale_memory(
    store: DatabaseStore, engine: Engine
) -> None:
    await store.set("a", b"v", expires_in=60)
    with engine.begin() as connection:  # another process signs the member out
        connection.execute(TABLE.delete())
    assert await store.get("a") is None
    await store.set("a", b"v", expires_in=60)  # a new sign-in with the same bytes
    assert rows(engine) == {stored_key("sessions", "a"): b"v"}
