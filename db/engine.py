"""Engine and sessions: SQLite (WAL, foreign keys) by default, PostgreSQL by URL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

# Connections per process: at most POOL_SIZE + MAX_OVERFLOW open at once; a request waits up
# to POOL_TIMEOUT_S for one (then sqlalchemy.exc.TimeoutError, answered 503).
POOL_SIZE = 10
MAX_OVERFLOW = 10
POOL_CAPACITY = POOL_SIZE + MAX_OVERFLOW
POOL_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 5  # PostgreSQL: a new connection that takes longer is a database outage
_POOL = {"pool_size": POOL_SIZE, "max_overflow": MAX_OVERFLOW, "pool_timeout": POOL_TIMEOUT_S}


def normalise_url(url: str) -> str:
    """Accept the usual `postgresql://` form and pick the psycopg 3 driver for it."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    # A server that drops packets instead of refusing would hang a connect for minutes.
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_S}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **_POOL)


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    on_disk = bool(database) and database != ":memory:"
    if database and on_disk:
        _private_files(Path(database))
    pool = _POOL if on_disk else {}  # an in-memory database has its own pool (one connection)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15}, **pool)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _private_files(database: Path) -> None:
    """The database file readable by its owner only, from its creation: SQLite would create it
    under the umask (0644 as a rule), and gives its -wal and -shm files the database's mode.
    A file made so by an older release is narrowed too, when this process may."""
    database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not database.exists():  # an empty file is an empty database
        os.close(os.open(database, os.O_RDWR | os.O_CREAT, 0o600))
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        with suppress(OSError):  # absent, or not ours to change: SQLite then reports what fails
            if path.stat().st_mode & 0o077:
                path.chmod(0o600)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def refresh_statistics(bind: Engine | Connection) -> None:
    """After a bulk load: the planner's statistics and, on PostgreSQL, the visibility map that
    lets a scan of an index answer from the index alone (autovacuum gets there too, later)."""
    postgres = bind.dialect.name == "postgresql"
    with bind.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE" if postgres else "ANALYZE"))


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
