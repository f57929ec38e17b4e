"""A change is told after its commit by the session that made it (web/services/commits.py): once,
never for a rolled-back transaction or savepoint, to the app's live hub and read cache; no
route handler publishes."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlmodel import Session

from tests.conftest import Migrate
from tests.factories import add_member, jpeg
from tests.forms import log_in, upload
from web.app import create_app
from web.live.channel import Doorbell
from web.live.hub import LiveHub
from web.services.commits import Change, Commits
from web.services.sync import record_change
from web.settings import Settings


@pytest.fixture
def told(app: Litestar) -> list[Change]:
    """What the app's commits tell their subscribers, in order."""
    heard: list[Change] = []
    app.state["commits"].on_change(heard.append)
    return heard


def test_a_committed_change_is_told_once_after_its_commit(
    db: Session, alice: int, told: list[Change]
) -> None:
    change = record_change(db, user_id=alice, kind="updated")
    assert told == []  # flushed, not committed
    db.commit()
    assert told == [change]
    db.commit()
    assert told == [change]


def test_a_rolled_back_change_is_told_to_no_one(
    db: Session, alice: int, told: list[Change]
) -> None:
    record_change(db, user_id=alice, kind="updated")
    db.rollback()
    db.commit()
    assert told == []


def test_a_rolled_back_savepoint_takes_only_its_own_changes(
    db: Session, alice: int, told: list[Change]
) -> None:
    kept = record_change(db, user_id=alice, kind="updated")
    savepoint = db.begin_nested()
    record_change(db, user_id=alice, kind="updated")
    savepoint.rollback()
    released = db.begin_nested()
    also_kept = record_change(db, user_id=alice, kind="deleted")
    released.commit()
    assert told == []  # a savepoint's release is no commit
    db.commit()
    assert told == [kept, also_kept]


def test_a_session_closed_uncommitted_never_tells_its_changes(
    app: Litestar, alice: int, told: list[Change]
) -> None:
    session = app.state["commits"].attach(Session(app.state["engine"]))
    record_change(session, user_id=alice, kind="updated")
    session.close()
    made_later = record_change(session, user_id=alice, kind="updated")  # the session reused
    session.commit()
    session.close()
    assert told == [made_later]


def test_a_session_without_commits_tells_no_one(
    app: Litestar, alice: int, told: list[Change]
) -> None:
    with Session(app.state["engine"]) as session:
        record_change(session, user_id=alice, kind="updated")
        session.commit()
    assert told == []


def test_a_failing_subscriber_neither_fails_the_commit_nor_silences_the_others(
    app: Litestar, alice: int, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_change: Change) -> None:
        raise RuntimeError("subscriber down")

    commits, heard = Commits(), list[Change]()
    commits.on_change(broken)
    commits.on_change(heard.append)
    with caplog.at_level(logging.ERROR), commits.attach(Session(app.state["engine"])) as session:
        change = record_change(session, user_id=alice, kind="updated")
        session.commit()
    assert heard == [change]
    assert "subscriber down" in caplog.text


@pytest.fixture
def published(
    settings: Settings, migrated: Migrate, monkeypatch: pytest.MonkeyPatch
) -> tuple[Litestar, list[Change]]:
    """An app whose live hub's publishes are recorded (patched before create_app wires it)."""
    changes: list[Change] = []
    monkeypatch.setattr(LiveHub, "publish", lambda _hub, change: changes.append(change))
    migrated(settings.database_url)
    return create_app(settings), changes


def test_the_hub_publishes_a_committed_change_once_and_a_rolled_back_one_never(
    published: tuple[Litestar, list[Change]],
) -> None:
    app, changes = published
    with app.state["commits"].attach(Session(app.state["engine"])) as db:
        alice = add_member(db, "alice")
        record_change(db, user_id=alice, kind="updated")
        db.rollback()
        assert changes == []
        change = record_change(db, user_id=alice, kind="updated")
        db.commit()
    assert changes == [change]


def test_a_form_upload_is_published_once_by_its_commit(
    published: tuple[Litestar, list[Change]],
) -> None:
    app, changes = published
    with TestClient(app) as client:
        with app.state["commits"].attach(Session(app.state["engine"])) as db:
            alice = add_member(db, "alice")
        log_in(client, "alice")
        response: Any = upload(client, jpeg())
        assert response.status_code == 303
    assert [(c.user_id, c.version, c.kind) for c in changes] == [(alice, 1, "uploaded")]


def test_the_cli_doorbell_rings_for_each_committed_change_and_notes_what_redis_took(
    app: Litestar, alice: int, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    rung: list[Change] = []

    def publish_outside_app(_settings: Settings, change: Change) -> bool:
        rung.append(change)
        return change.kind == "restored"  # Redis took this one only

    monkeypatch.setattr("web.live.channel.publish_outside_app", publish_outside_app)
    doorbell = Doorbell(settings)
    with doorbell.attach(Session(app.state["engine"])) as session:
        record_change(session, user_id=alice, kind="updated")
        session.rollback()
        restored = record_change(session, user_id=alice, kind="restored")
        session.commit()
        deleted = record_change(session, user_id=alice, kind="deleted")
        session.commit()
    assert rung == [restored, deleted]
    assert doorbell.told == {restored.event_id}
