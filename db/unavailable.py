"""Which database errors mean "the database can't be reached just now" (a retry soon may pass),
as opposed to a bug or a conflict (IntegrityError, ProgrammingError, a missing table)."""

from __future__ import annotations

import sqlite3

from sqlalchemy import exc

# SQLite's primary result codes for a file that is busy, locked or unreachable. Its other
# OperationalErrors ("no such table", a syntax error) are bugs, not outages.
SQLITE_UNAVAILABLE = {
    5: "database is locked (SQLITE_BUSY)",
    6: "table is locked (SQLITE_LOCKED)",
    8: "database is read-only (SQLITE_READONLY)",
    10: "disk I/O error (SQLITE_IOERR)",
    13: "disk is full (SQLITE_FULL)",
    14: "unable to open the database file (SQLITE_CANTOPEN)",
    15: "locking protocol error (SQLITE_PROTOCOL)",
}


def unavailable_cause(error: BaseException) -> str | None:
    """A short cause when `error` says the database is unreachable, busy or gone; else None."""
    if isinstance(error, exc.TimeoutError):  # the pool's: every connection busy for too long
        return f"no free connection in the pool: {_first_line(error)}"
    if not isinstance(error, exc.DBAPIError):
        return None
    if error.connection_invalidated or isinstance(error, exc.InterfaceError):
        return f"{type(error.orig).__name__}: {_first_line(error.orig)}"
    if not isinstance(error, exc.OperationalError):
        return None
    if isinstance(error.orig, sqlite3.Error):
        return SQLITE_UNAVAILABLE.get(error.orig.sqlite_errorcode & 0xFF)
    # PostgreSQL (psycopg): OperationalError is a lost or refused connection, a server shutting
    # down, out of resources, or a cancelled statement: all worth a retry.
    return f"{type(error.orig).__name__}: {_first_line(error.orig)}"


def _first_line(error: BaseException | None) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
