"""Uploads that fail (a conflict, a failed commit) never take away a kept version's files."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from tests.api_support import upload
from tests.factories import jpeg, stored_keys
from web.services import audit
from web.services.pictures import changes, media_check, retention, versions
from web.services.pictures.access import PictureError
from web.services.pictures.storage import MediaStore
from web.services.pictures.stores import media_store
from web.settings import Settings


@pytest.fixture
def store(settings: Settings) -> MediaStore:
    return media_store(settings)


def files(store: MediaStore) -> set[str]:
    return {key for folder in ("avatars", "masters") for key in stored_keys(store, folder)}


def kept_files_present(db: Session, store: MediaStore) -> bool:
    db.expire_all()
    return media_check.check(db, store).ok


def one_kept(client: TestClient[Any], token: str, alice: int, store: MediaStore) -> set[str]:
    """Alice's first picture, uploaded through the API and kept: its files."""
    upload(client, token, alice, jpeg())
    return files(store)


def number_one_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """The next upload is given version 1, a number already taken."""
    monkeypatch.setattr(versions, "next_version", lambda _session, _user: 1)


def fail_the_commit_with(error: Exception, monkeypatch: pytest.MonkeyPatch) -> None:
    """The next picture commit fails like `error`, raised where COMMIT would be sent."""
    real = versions.commit

    def commit(session: Session) -> None:
        @event.listens_for(session, "before_commit", once=True)
        def refuse(_session: Any) -> None:
            raise error

        real(session)

    monkeypatch.setattr(versions, "commit", commit)


def test_upload_that_takes_a_taken_version_number_is_409_not_500(
    client: TestClient[Any],
    db: Session,
    store: MediaStore,
    alice: int,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert upload(client, token, alice, jpeg()).status_code == 201
    number_one_again(monkeypatch)
    response = upload(client, token, alice, jpeg())
    assert response.status_code == 409
    assert "came first" in response.json()["detail"]


def test_upload_that_conflicts_keeps_the_files_of_the_same_picture_kept_before(
    client: TestClient[Any],
    db: Session,
    store: MediaStore,
    alice: int,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = one_kept(client, token, alice, store)
    number_one_again(monkeypatch)
    upload(client, token, alice, jpeg())
    assert files(store) == before
    assert kept_files_present(db, store)


def test_form_upload_that_conflicts_is_409_not_500(
    client: TestClient[Any], alice: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.forms import log_in
    from tests.forms import upload as form_upload

    log_in(client, "alice")
    form_upload(client, jpeg())
    number_one_again(monkeypatch)
    response = form_upload(client, jpeg(), headers={"HX-Request": "true"})
    assert response.status_code == 409


def test_commit_that_conflicts_is_409_and_removes_only_its_own_files(
    client: TestClient[Any],
    db: Session,
    store: MediaStore,
    alice: int,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = one_kept(client, token, alice, store)
    fail_the_commit_with(IntegrityError("COMMIT", {}, Exception("unique")), monkeypatch)
    assert upload(client, token, alice, jpeg()).status_code == 409
    assert files(store) == before
    assert kept_files_present(db, store)


def test_commit_with_an_unknown_outcome_leaves_its_files_for_the_sweep(
    client: TestClient[Any],
    db: Session,
    store: MediaStore,
    alice: int,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = one_kept(client, token, alice, store)
    lost = OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))
    fail_the_commit_with(lost, monkeypatch)
    assert upload(client, token, alice, jpeg()).status_code >= 500
    left = files(store) - before
    assert len(left) == len(before)  # the failed upload's own set, nothing of the kept one gone
    assert kept_files_present(db, store)
    assert sorted(retention.sweep(db, store, grace_seconds=0)) == sorted(left)
    assert files(store) == before


def test_failed_restore_lets_the_member_lock_go(
    db: Session, alice: int, client: TestClient[Any], token: str
) -> None:
    upload(client, token, alice, jpeg())
    with pytest.raises(PictureError):
        changes.restore(db, actor=audit.Actor(user_id=None), user_id=alice, version=9)
    assert not db.in_transaction()
