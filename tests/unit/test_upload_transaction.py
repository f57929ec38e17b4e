"""What one upload's transaction sends: the member's row locked, read once and written once."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import event
from sqlmodel import Session

from db.models import ProfilePicture, UserProfile
from tests.api_support import upload
from tests.factories import jpeg, profile_of


def statements_of_an_upload(
    app: Litestar, client: TestClient[Any], token: str, alice: int
) -> list[str]:
    sent: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(" ".join(statement.split()))

    engine = app.state["engine"]
    event.listen(engine, "before_cursor_execute", note)
    try:
        assert upload(client, token, alice, jpeg("blue")).status_code == 201
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return sent


def test_an_upload_reads_the_members_row_once_and_writes_it_once_past_its_lock(
    app: Litestar, client: TestClient[Any], db: Session, token: str, alice: int
) -> None:
    assert upload(client, token, alice, jpeg("red")).status_code == 201
    before = profile_of(db, alice).picture_version
    sent = statements_of_an_upload(app, client, token, alice)
    assert len([s for s in sent if s.startswith("SELECT user_profiles.")]) == 1
    lock, *writes = [s for s in sent if s.startswith("UPDATE user_profiles")]
    assert "SET picture_version=user_profiles.picture_version" in lock
    assert len(writes) == 1
    profile = profile_of(db, alice)
    active = db.get(ProfilePicture, profile.active_picture_id)
    assert isinstance(profile, UserProfile) and active is not None
    assert (profile.picture_version, active.version, active.is_active) == (before + 1, 2, True)
    assert profile.profile_picture == active.filename
