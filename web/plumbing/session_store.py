"""A Litestar store over the `web_sessions` table: sessions live in the database, which the app
needs anyway, so neither a Redis outage nor a restart signs anyone out.

The database calls block, so each runs in a worker thread; the event loop never waits on them.
Litestar writes the session back after every response; a write that would change nothing but
push the expiry back by less than 1% of its lifetime (at most an hour) is skipped, so a page
view costs one read, not a read and a commit. Expired rows are deleted on read and, at most
once a `purge_every` seconds, by one small DELETE on a write (no timer of its own).

A key (a session id: whoever holds it is signed in) is stored as its SHA-256, so the table,
or a copy of it, names no session a browser could present (migration 0005 rewrote the rows
kept before).
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any

from anyio.to_thread import run_sync
from litestar.stores.base import NamespacedStore
from sqlalchemy import Engine, Table, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from db.models import WebSession
from db.types import utcnow

TABLE: Table = WebSession.__table__  # type: ignore[attr-defined]
PURGE_EVERY = 60.0  # seconds between sweeps of expired rows, per process
RENEW_EVERY = timedelta(hours=1)  # at most this much expiry is given up to skip a write
SEEN_MAX = 10_000  # rows remembered per process (a few MB)

Row = tuple[bytes, datetime | None]


class _Shared:
    """State a store shares with the namespaces made from it: when the last sweep ran, and the
    value and expiry this process last read or wrote for each key."""

    def __init__(self, purge_every: float) -> None:
        self.purge_every = purge_every
        self.last_purge = float("-inf")
        self.seen: OrderedDict[str, Row] = OrderedDict()

    def purge_due(self) -> bool:
        now = time.monotonic()
        if now - self.last_purge < self.purge_every:
            return False
        self.last_purge = now
        return True

    def remember(self, key: str, row: Row | None) -> None:
        self.seen.pop(key, None)
        if row is not None:
            self.seen[key] = row
            if len(self.seen) > SEEN_MAX:
                self.seen.popitem(last=False)

    def unchanged(self, key: str, data: bytes, expires_at: datetime | None) -> bool:
        if (seen := self.seen.get(key)) is None or seen[0] != data:
            return False
        if expires_at is None or seen[1] is None:
            return expires_at is seen[1]
        return expires_at - seen[1] < min(RENEW_EVERY, (expires_at - utcnow()) / 100)


class DatabaseStore(NamespacedStore):
    """Keys are kept as `namespace:key`; a child namespace is `parent/child`, so `delete_all`
    on a parent also empties its children, as Litestar's NamespacedStore asks."""

    __slots__ = ("_engine", "_shared")

    def __init__(
        self, engine: Engine, namespace: str = "", *, purge_every: float = PURGE_EVERY
    ) -> None:
        self._engine = engine
        self.namespace = namespace
        self._shared = _Shared(purge_every)

    def with_namespace(self, namespace: str) -> DatabaseStore:
        child = DatabaseStore(
            self._engine, f"{self.namespace}/{namespace}" if self.namespace else namespace
        )
        child._shared = self._shared
        return child

    def _key(self, key: str) -> str:
        return stored_key(self.namespace, key)

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        key, data = self._key(key), value.encode() if isinstance(value, str) else value
        expires_at = _expiry(expires_in)
        if self._shared.unchanged(key, data, expires_at):
            return
        await run_sync(self._write, key, data, expires_at, self._shared.purge_due())
        self._shared.remember(key, (data, expires_at))

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        key = self._key(key)
        row = await run_sync(self._read, key, renew_for)
        self._shared.remember(key, row)
        return None if row is None else row[0]

    async def delete(self, key: str) -> None:
        key = self._key(key)
        self._shared.remember(key, None)
        await run_sync(self._delete, TABLE.c.key == key)

    async def delete_all(self) -> None:
        self._shared.seen.clear()
        if not self.namespace:
            await run_sync(self._delete, None)
            return
        await run_sync(
            self._delete,
            or_(
                TABLE.c.key.startswith(f"{self.namespace}:", autoescape=True),
                TABLE.c.key.startswith(f"{self.namespace}/", autoescape=True),
            ),
        )

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        row = await run_sync(self._read, self._key(key), None)
        if row is None or row[1] is None:
            return None
        return int((row[1] - utcnow()).total_seconds())

    # The blocking halves, run in worker threads.

    def _write(self, key: str, data: bytes, expires_at: datetime | None, purge: bool) -> None:
        with self._engine.begin() as connection:
            if purge:
                connection.execute(delete(TABLE).where(TABLE.c.expires_at <= utcnow()))
            connection.execute(_upsert(connection, key=key, value=data, expires_at=expires_at))

    def _read(self, key: str, renew_for: int | timedelta | None) -> Row | None:
        """The value and expiry of a live key; an expired one is deleted and reads as absent."""
        with self._engine.connect() as connection:
            row = connection.execute(
                select(TABLE.c.value, TABLE.c.expires_at).where(TABLE.c.key == key)
            ).first()
        if row is None:
            return None
        value, expires_at = row
        if expires_at is not None and expires_at <= utcnow():
            self._delete(TABLE.c.key == key)
            return None
        if renew_for and expires_at is not None:
            expires_at = _expiry(renew_for)
            with self._engine.begin() as connection:
                connection.execute(
                    update(TABLE).where(TABLE.c.key == key).values(expires_at=expires_at)
                )
        return value, expires_at

    def _delete(self, where: Any) -> None:
        statement = delete(TABLE) if where is None else delete(TABLE).where(where)
        with self._engine.begin() as connection:
            connection.execute(statement)


def stored_key(namespace: str, key: str) -> str:
    """The row's key of `key` in `namespace`: the key's SHA-256, never the key itself."""
    return f"{namespace}:{hashlib.sha256(key.encode()).hexdigest()}"


def _expiry(expires_in: int | timedelta | None) -> datetime | None:
    if not expires_in:
        return None
    seconds = expires_in if isinstance(expires_in, timedelta) else timedelta(seconds=expires_in)
    return utcnow() + seconds


def _upsert(connection: Connection, **values: Any) -> Any:
    """INSERT ... ON CONFLICT (key) DO UPDATE, in the dialect at hand (SQLite or PostgreSQL)."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = insert(TABLE).values(**values)
    return statement.on_conflict_do_update(
        index_elements=[TABLE.c.key],
        set_={"value": statement.excluded.value, "expires_at": statement.excluded.expires_at},
    )
