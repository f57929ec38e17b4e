"""Smaller bounds of issue 21: refusals written to the audit log, lookups of unknown members,
the files the app makes (database, secret key) and what the sessions table keeps."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import create_engine, insert, text
from sqlmodel import Session, select

from db import migrate
from db.engine import make_engine
from db.models import AuditLog, WebSession
from tests.api_support import bearer, make_token
from tests.conftest import log_in
from tests.factories import add_member
from web.app import create_app
from web.plumbing.session_store import TABLE, stored_key
from web.services.audit import REFUSALS_PER_MINUTE, UNWRITTEN, RefusalBudget
from web.settings import Settings

# --- the audit log ---------------------------------------------------------------------------


def denied_rows(db: Session) -> list[AuditLog]:
    db.expire_all()
    return list(db.exec(select(AuditLog).where(AuditLog.outcome == "denied")))


def test_refusals_write_at_most_30_rows_a_minute_per_token_and_each_is_still_refused(
    client: TestClient[Any], db: Session, alice: int
) -> None:
    bob = add_member(db, "bob")
    prying, other = make_token(db, alice, "prying"), make_token(db, bob, "other")
    calls = REFUSALS_PER_MINUTE + 10
    statuses = {
        client.get(f"/api/profile/picture/{bob}", headers=bearer(prying)).status_code
        for _ in range(calls)
    }
    assert statuses == {403}
    rows = denied_rows(db)
    assert len(rows) == REFUSALS_PER_MINUTE
    assert rows[-1].detail.endswith(UNWRITTEN)
    assert not rows[-2].detail.endswith(UNWRITTEN)
    assert client.get(f"/api/profile/picture/{alice}", headers=bearer(other)).status_code == 403
    assert [row.actor_id for row in denied_rows(db)[REFUSALS_PER_MINUTE:]] == [bob]


def test_an_actors_refusals_are_written_again_in_the_next_minute() -> None:
    now = [0.0]
    budget = RefusalBudget(clock=lambda: now[0])
    left = [budget.take((1, 2)) for _ in range(REFUSALS_PER_MINUTE + 1)]
    assert left[0] == REFUSALS_PER_MINUTE - 1 and left[-2:] == [0, -1]
    now[0] += 60
    assert budget.take((1, 2)) == REFUSALS_PER_MINUTE - 1


# --- the sessions table ----------------------------------------------------------------------


def test_the_upgrade_keeps_sessions_stored_under_their_ids_and_hashes_them(
    settings: Settings,
) -> None:
    migrate.upgrade(settings.database_url)
    with TestClient(create_app(settings)) as before:
        with Session(before.app.state["engine"]) as db:
            add_member(db, "alice")
        log_in(before, "alice")
        cookie = before.cookies["session"]
        with before.app.state["engine"].begin() as connection:
            value = connection.execute(select(TABLE.c.value)).scalar_one()
    migrate.downgrade(settings.database_url, "0004")  # as an older release kept it: the id
    engine = create_engine(settings.database_url)
    with engine.begin() as connection:
        connection.execute(insert(TABLE).values(key=f"sessions:{cookie}", value=value))
    engine.dispose()
    migrate.upgrade(settings.database_url)
    with TestClient(create_app(settings), cookies={"session": cookie}) as after:
        assert after.get("/profile", follow_redirects=False).status_code == 200
        with Session(after.app.state["engine"]) as db:
            assert set(db.exec(select(WebSession.key))) == {stored_key("sessions", cookie)}


# --- files the app makes -----------------------------------------------------------------------


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The loosest umask: the modes below are the app's own, not the umask's."""
    old = os.umask(0)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("open_umask")
def test_the_database_and_its_folder_are_private(tmp_path: Path) -> None:
    database = tmp_path / "var" / "app.db"
    migrate.upgrade(f"sqlite:///{database}")
    engine = make_engine(f"sqlite:///{database}")
    with engine.begin() as connection:  # WAL: the -wal and -shm files exist while it is open
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
        assert {mode(p) for p in database.parent.glob("app.db*")} == {0o600}
    engine.dispose()
    assert mode(database.parent) == 0o700


def test_a_database_an_older_release_left_readable_is_narrowed(tmp_path: Path) -> None:
    database = tmp_path / "app.db"
    database.touch(mode=0o644)
    database.chmod(0o644)
    make_engine(f"sqlite:///{database}").dispose()
    assert mode(database) == 0o600


@pytest.mark.usefixtures("open_umask")
def test_the_secret_key_is_private_before_a_byte_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    var = tmp_path / "var"
    seen: list[tuple[int, bool]] = []
    real_fsync = os.fsync

    def watch(descriptor: int) -> None:  # called with the key written, before it has its name
        seen.append((stat.S_IMODE(os.fstat(descriptor).st_mode), (var / "secret_key").exists()))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", watch)
    key = Settings.from_env({"VAR_DIR": str(var)}).secret_key
    assert seen == [(0o600, False)]
    assert (var / "secret_key").read_text() == key and len(key) >= 32
    assert mode(var / "secret_key") == 0o600 and mode(var) == 0o700
    assert [p.name for p in var.iterdir()] == ["secret_key"]  # no temporary left behind


def test_processes_starting_together_share_one_secret_key(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        keys = set(
            pool.map(lambda _: Settings.from_env({"VAR_DIR": str(tmp_path)}).secret_key, range(8))
        )
    assert len(keys) == 1
