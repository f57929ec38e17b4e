"""Idempotency-Key on uploads: a retry gets the first answer and makes no second version."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlmodel import Session, select

from db.models import IdempotencyKey, ProfilePicture, SyncEvent
from db.types import utcnow
from tests.api_support import bearer, jpeg, make_token, problem, upload
from tests.factories import add_member
from web.services.pictures import idempotency


def versions(db: Session) -> list[int]:
    return [p.version for p in db.exec(select(ProfilePicture).order_by(ProfilePicture.version))]


def test_retry_with_the_same_key_returns_the_first_answer_and_no_second_version(
    client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    first = upload(client, token, alice, jpeg("red"), key="retry-1")
    retry = upload(client, token, alice, jpeg("red"), key="retry-1")
    assert (retry.status_code, retry.content) == (first.status_code, first.content)
    assert first.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert versions(db) == [1]
    pictures = select(SyncEvent).where(SyncEvent.kind != "tokens")
    assert len(db.exec(pictures).all()) == 1  # one change, one live event


def test_retry_after_a_later_change_still_gets_the_first_answer(
    client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    first = upload(client, token, alice, jpeg("red"), key="k")
    upload(client, token, alice, jpeg("blue"))
    assert upload(client, token, alice, jpeg("red"), key="k").json() == first.json()
    assert versions(db) == [1, 2]


def test_same_key_with_another_file_is_422_and_changes_nothing(
    client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    upload(client, token, alice, jpeg("red"), key="k")
    body = problem(upload(client, token, alice, jpeg("blue"), key="k"), 422)
    assert "different request" in body["detail"]
    assert versions(db) == [1]


def test_different_keys_make_different_versions(
    client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    upload(client, token, alice, jpeg("red"), key="a")
    upload(client, token, alice, jpeg("red"), key="b")
    assert versions(db) == [1, 2]


def test_a_refused_upload_releases_its_key(
    client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    problem(upload(client, token, alice, b"not a picture", key="k"), 415)
    assert upload(client, token, alice, jpeg(), key="k").status_code == 201
    assert versions(db) == [1]


def test_keys_belong_to_the_calling_member(
    client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    bob = add_member(db, "bob", "Bob")
    upload(client, token, alice, jpeg("red"), key="shared")
    response = upload(client, make_token(db, bob), bob, jpeg("red"), key="shared")
    assert response.status_code == 201
    assert response.json()["userId"] == str(bob)


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "tab\tkey"])
def test_a_malformed_key_is_400(client: TestClient[Any], alice: int, token: str, key: str) -> None:
    response = client.post(
        "/api/profile/upload-picture",
        headers=bearer(token) | {"Idempotency-Key": key},
        files={"profilePicture": ("a.jpg", jpeg(), "image/jpeg")},
        data={"userId": str(alice)},
    )
    problem(response, 400)


def test_a_key_still_in_progress_is_409(db: Session, alice: int) -> None:
    assert idempotency.claim(db, user_id=alice, key="k", fingerprint="f") is None
    with pytest.raises(idempotency.IdempotencyError) as refused:
        idempotency.claim(db, user_id=alice, key="k", fingerprint="f")
    assert refused.value.status == 409


def test_a_claim_abandoned_by_a_dead_request_may_be_taken_again(db: Session, alice: int) -> None:
    then = utcnow() - idempotency.ABANDONED_AFTER - timedelta(seconds=1)
    idempotency.claim(db, user_id=alice, key="k", fingerprint="f", now=then)
    assert idempotency.claim(db, user_id=alice, key="k", fingerprint="g") is None
    assert db.exec(select(IdempotencyKey.fingerprint)).all() == ["g"]


def test_keys_are_forgotten_after_a_day(db: Session, alice: int) -> None:
    then = utcnow() - idempotency.KEEP_FOR - timedelta(seconds=1)
    idempotency.claim(db, user_id=alice, key="old", fingerprint="f", now=then)
    idempotency.complete(db, user_id=alice, key="old", status=201, body={"a": 1})
    assert idempotency.claim(db, user_id=alice, key="new", fingerprint="f") is None
    assert db.exec(select(IdempotencyKey.key)).all() == ["new"]


def test_fingerprint_parts_cannot_run_together() -> None:
    assert idempotency.fingerprint(b"ab", b"c") != idempotency.fingerprint(b"a", b"bc")
