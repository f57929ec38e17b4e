"""Smaller bounds of issue 21: refusals written to the audit log, lookups of unknown members,
the files the app makes (database, secret key) and what the sessions table keeps."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient
from sqlalchemy import create_engine, insert, select
from sqlmodel import Session

from db import migrate
from db.models import AuditLog, WebSession
from tests.api_support import bearer, make_token
from tests.conftest import log_in
from tests.factories import add_member
from web.app import create_app
from web.services.audit import REFUSALS_PER_MINUTE, UNWRITTEN, RefusalBudget
from web.settings import Settings
from web.stores.database import TABLE, stored_key

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
            assert set(db.exec(select(WebSession.key)).scalars()) == {
                stored_key("sessions", cookie)
            }
