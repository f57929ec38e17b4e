"""Who may call the JSON API: Bearer tokens only, each for its own member (admins for anyone)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlmodel import Session, select

from db.models import ApiToken, AuditLog, ProfilePicture
from db.types import utcnow
from tests.api_support import (
    bearer,
    delete,
    history,
    jpeg,
    make_token,
    problem,
    state,
    sync,
    update,
    upload,
)
from tests.factories import add_member
from tests.forms import csrf, log_in
from web.services.accounts import tokens
from web.services.audit import Actor

NOW = "2030-01-01T00:00:00Z"
# Every endpoint, called by `token` for member `user_id`.
CALLS: dict[str, Callable[[Any, str, int], Any]] = {
    "upload": lambda c, t, u: upload(c, t, u),
    "picture": lambda c, t, u: state(c, t, u),
    "history": lambda c, t, u: history(c, t, u),
    "update": lambda c, t, u: update(
        c, t, {"userId": u, "profilePicture": "0" * 32, "updatedAt": NOW}
    ),
    "delete": lambda c, t, u: delete(c, t, u),
    "sync": lambda c, t, u: sync(c, t, {"userId": u, "profilePicture": None, "syncTimestamp": NOW}),
}


@pytest.fixture
def bob(db: Session) -> int:
    return add_member(db, "bob", "Bob Marley")


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_missing_token_is_401_with_a_bearer_challenge(
    client: TestClient[Any], alice: int, call: Callable[[Any, str, int], Any]
) -> None:
    response = call(client, "", alice)
    problem(response, 401)
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_unknown_token_is_401_invalid_token(
    client: TestClient[Any], alice: int, call: Callable[[Any, str, int], Any]
) -> None:
    response = call(client, "pps_" + "x" * 43, alice)
    problem(response, 401)
    assert response.headers["www-authenticate"] == 'Bearer realm="api", error="invalid_token"'


@pytest.mark.parametrize(
    "authorization", ["Basic YWxpY2U6cHc=", "Bearer", "Bearer ", "pps_abc", "Bearer " + "x" * 500]
)
def test_malformed_authorization_is_401(
    client: TestClient[Any], alice: int, token: str, authorization: str
) -> None:
    response = client.get(f"/api/profile/picture/{alice}", headers={"Authorization": authorization})
    problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_scheme_is_case_insensitive(client: TestClient[Any], alice: int, token: str) -> None:
    response = client.get(
        f"/api/profile/picture/{alice}", headers={"Authorization": f"bearer {token}"}
    )
    assert response.status_code == 200


def test_revoked_token_stops_working_at_once(
    client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    assert state(client, token, alice).status_code == 200
    row = db.exec(select(ApiToken)).one()
    assert tokens.revoke_token(db, actor=Actor(alice), token_id=row.id or 0)
    problem(state(client, token, alice), 401)
    problem(upload(client, token, alice), 401)
    assert db.exec(select(ProfilePicture)).all() == []


def test_session_cookie_is_not_accepted(client: TestClient[Any], alice: int) -> None:
    log_in(client, "alice")
    response = client.get(f"/api/profile/picture/{alice}")
    problem(response, 401)
    response = client.post(
        "/api/profile/upload-picture",
        files={"profilePicture": ("a.jpg", jpeg(), "image/jpeg")},
        data={"userId": str(alice)},
    )
    problem(response, 401)


def test_api_token_is_not_accepted_by_the_html_forms(
    client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    response = client.post(
        "/profile/picture",
        headers=bearer(token),
        files={"profilePicture": ("a.jpg", jpeg(), "image/jpeg")},
        data={"_csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    assert db.exec(select(ProfilePicture)).all() == []


def test_token_is_stored_only_as_its_hash(db: Session, alice: int, token: str) -> None:
    row = db.exec(select(ApiToken)).one()
    assert token not in (row.token_hash, row.prefix, row.name)
    assert row.token_hash == tokens.hash_token(token)
    assert token.startswith(row.prefix)


def test_use_of_a_token_notes_last_used_at_at_most_once_a_minute(
    client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    assert db.exec(select(ApiToken)).one().last_used_at is None
    state(client, token, alice)
    db.expire_all()
    first = db.exec(select(ApiToken)).one().last_used_at
    assert first is not None and utcnow() - first < timedelta(seconds=5)
    state(client, token, alice)
    db.expire_all()
    assert db.exec(select(ApiToken)).one().last_used_at == first


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_another_members_id_is_403_and_audited_as_denied(
    client: TestClient[Any],
    db: Session,
    alice: int,
    bob: int,
    token: str,
    call: Callable[[Any, str, int], Any],
) -> None:
    upload(client, make_token(db, bob), bob)
    problem(call(client, token, bob), 403)
    denied = db.exec(select(AuditLog).where(AuditLog.outcome == "denied")).one()
    assert (denied.actor_id, denied.subject_id) == (alice, bob)
    pictures = db.exec(select(ProfilePicture).where(ProfilePicture.user_id == bob)).all()
    assert [(p.version, p.is_active, p.deleted_at) for p in pictures] == [(1, True, None)]


def test_an_unknown_members_id_is_403_too(
    client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    # Whether member 999 exists is not the token's business.
    problem(state(client, token, 999), 403)
    denied = db.exec(select(AuditLog).where(AuditLog.outcome == "denied")).one()
    assert (denied.subject_id, denied.detail) == (None, "token 1 for member 999")


def test_an_admin_may_act_on_any_member_and_is_audited(
    client: TestClient[Any], db: Session, alice: int
) -> None:
    admin = add_member(db, "root", "Site Admin", admin=True)
    admin_token = make_token(db, admin)
    response = upload(client, admin_token, alice)
    assert response.status_code == 201
    assert state(client, admin_token, alice).json()["version"] == 1
    done = db.exec(select(AuditLog).where(AuditLog.action == "picture.upload")).all()
    assert [(a.actor_id, a.subject_id, a.outcome) for a in done] == [
        (admin, alice, "ok"),  # the admin's act on another member
        (admin, alice, "ok"),  # the upload itself
    ]
    read = db.exec(select(AuditLog).where(AuditLog.action == "api.picture.read")).one()
    assert (read.actor_id, read.subject_id, read.outcome) == (admin, alice, "ok")


def test_an_admin_on_an_unknown_member_is_404(client: TestClient[Any], db: Session) -> None:
    admin = add_member(db, "root", "Site Admin", admin=True)
    problem(state(client, make_token(db, admin), 999), 404)
