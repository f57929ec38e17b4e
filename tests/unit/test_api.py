"""The JSON API's endpoints, each on its happy path, and the live event each change publishes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlmodel import Session, select

from db.models import AuditLog, ProfilePicture, SyncEvent
from tests.api_support import (
    delete,
    history,
    jpeg,
    problem,
    state,
    state_part,
    sync,
    update,
    upload,
)
from tests.factories import profile_of
from web.services.commits import Change


@pytest.fixture
def published(app: Litestar) -> list[Change]:
    """The picture changes the API's commits tell the app's subscribers (the live hub among
    them), in order; not the token list's (a token's first use is news to its member's tabs)."""
    changes: list[Change] = []
    app.state["commits"].on_change(lambda c: c.kind == "tokens" or changes.append(c))
    return changes


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_upload_is_201_with_the_new_version(
    client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    response = upload(client, token, alice)
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    profile = profile_of(db, alice)
    assert body["userId"] == str(alice)
    assert body["version"] == 1
    assert body["filename"] == profile.profile_picture
    assert body["updatedAt"] == iso(profile.updated_at)
    assert set(body["urls"]) == {"xs", "sm", "md", "lg"}
    base = f"/media/avatars/{alice}/{body['filename']}"
    assert body["urls"]["sm"] == {
        "1x": f"{base}-40.jpg",
        "2x": f"{base}-80.jpg",
        "webp1x": f"{base}-40.webp",
        "webp2x": f"{base}-80.webp",
    }
    for size in body["urls"].values():
        for url in size.values():
            assert client.get(url).status_code == 200, url


def test_upload_publishes_the_same_event_as_the_form(
    client: TestClient[Any], db: Session, alice: int, token: str, published: list[Change]
) -> None:
    upload(client, token, alice)
    event = db.exec(select(SyncEvent).where(SyncEvent.kind != "tokens")).one()
    assert published == [Change(event.id or 0, alice, 1, "uploaded")]


def test_upload_is_audited_with_the_token_member_as_actor(
    client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    upload(client, token, alice)
    row = db.exec(select(AuditLog).where(AuditLog.action == "picture.upload")).one()
    assert (row.actor_id, row.subject_id, row.outcome) == (alice, alice, "ok")
    assert row.ip == "testclient"


def test_second_upload_is_version_2_and_the_only_active_one(
    client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    upload(client, token, alice, jpeg("red"))
    assert upload(client, token, alice, jpeg("blue")).json()["version"] == 2
    actives = db.exec(select(ProfilePicture).where(ProfilePicture.is_active)).all()
    assert [p.version for p in actives] == [2]


def test_picture_of_member_without_one_describes_the_default_avatar(
    client: TestClient[Any], alice: int, token: str
) -> None:
    body = state(client, token, alice).json()
    assert (body["version"], body["filename"], body["urls"]) == (None, None, None)
    assert body["defaultAvatar"]["initials"] == "AL"
    assert body["defaultAvatar"]["colour"].startswith("hsl(")
    assert body["pictureVersion"] == 0


def test_picture_is_the_active_version_with_an_etag(
    client: TestClient[Any], alice: int, token: str
) -> None:
    uploaded = upload(client, token, alice).json()
    response = state(client, token, alice)
    assert response.status_code == 200
    assert response.json() == state_part(uploaded) | {"pictureVersion": 1}
    assert response.headers["etag"].startswith('"')
    assert response.headers["cache-control"] == "private, no-cache"


def test_if_none_match_is_304_until_the_picture_changes(
    client: TestClient[Any], alice: int, token: str
) -> None:
    upload(client, token, alice, jpeg("red"))
    etag = state(client, token, alice).headers["etag"]
    not_modified = state(client, token, alice, {"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert state(client, token, alice, {"If-None-Match": f'W/{etag}, "x"'}).status_code == 304
    upload(client, token, alice, jpeg("blue"))
    assert state(client, token, alice, {"If-None-Match": etag}).status_code == 200


def test_history_lists_kept_versions_newest_first(
    client: TestClient[Any], alice: int, token: str
) -> None:
    upload(client, token, alice, jpeg("red"), name="red.jpg")
    upload(client, token, alice, jpeg("blue"), name="blue.jpg")
    upload(client, token, alice, jpeg("green"))
    delete(client, token, alice)
    body = history(client, token, alice).json()
    assert body["userId"] == str(alice)
    versions = body["versions"]
    assert [v["version"] for v in versions] == [2, 1]
    assert [v["isActive"] for v in versions] == [True, False]
    assert versions[1]["originalName"] == "red.jpg"
    assert (versions[0]["width"], versions[0]["height"]) == (300, 200)
    assert versions[0]["urls"]["lg"]["1x"].endswith("-192.jpg")


def test_update_picture_makes_an_earlier_version_active(
    client: TestClient[Any], db: Session, alice: int, token: str, published: list[Change]
) -> None:
    first = upload(client, token, alice, jpeg("red")).json()
    second = upload(client, token, alice, jpeg("blue")).json()
    response = update(
        client,
        token,
        {"userId": alice, "profilePicture": first["filename"], "updatedAt": second["updatedAt"]},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["version"], body["filename"], body["pictureVersion"]) == (1, first["filename"], 3)
    assert profile_of(db, alice).profile_picture == first["filename"]
    assert [(c.version, c.kind) for c in published][-1] == (3, "restored")


def test_update_picture_with_a_stale_updated_at_is_409_with_the_current_state(
    client: TestClient[Any], db: Session, alice: int, token: str, published: list[Change]
) -> None:
    first = upload(client, token, alice, jpeg("red")).json()
    second = upload(client, token, alice, jpeg("blue")).json()
    # A second client still holds the state of the first upload.
    body = problem(
        update(
            client,
            token,
            {"userId": alice, "profilePicture": first["filename"], "updatedAt": first["updatedAt"]},
        ),
        409,
    )
    assert body["current"] == state_part(second) | {"pictureVersion": 2}
    assert profile_of(db, alice).profile_picture == second["filename"]
    assert len(published) == 2  # nothing new
    refusal = db.exec(select(AuditLog).where(AuditLog.outcome == "invalid")).one()
    assert (refusal.action, refusal.detail) == ("picture.use", "stale updatedAt")


def test_update_picture_with_a_newer_updated_at_succeeds(
    client: TestClient[Any], alice: int, token: str
) -> None:
    first = upload(client, token, alice, jpeg("red")).json()
    upload(client, token, alice, jpeg("blue"))
    later = iso(datetime.now(UTC) + timedelta(seconds=5))
    body = {"userId": alice, "profilePicture": first["filename"], "updatedAt": later}
    assert update(client, token, body).json()["version"] == 1


def test_update_picture_to_the_current_version_changes_nothing(
    client: TestClient[Any], alice: int, token: str, published: list[Change]
) -> None:
    current = upload(client, token, alice).json()
    body = {
        "userId": alice,
        "profilePicture": current["filename"],
        "updatedAt": current["updatedAt"],
    }
    response = update(client, token, body)
    assert response.status_code == 200
    assert response.json()["pictureVersion"] == 1
    assert len(published) == 1


def test_update_picture_restores_a_deleted_version(
    client: TestClient[Any], alice: int, token: str
) -> None:
    gone = upload(client, token, alice).json()
    after = delete(client, token, alice).json()
    body = {"userId": alice, "profilePicture": gone["filename"], "updatedAt": after["updatedAt"]}
    assert update(client, token, body).json()["filename"] == gone["filename"]
    assert [v["version"] for v in history(client, token, alice).json()["versions"]] == [1]


def test_update_picture_with_an_unknown_filename_is_404_and_audited(
    client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    current = upload(client, token, alice).json()
    body = {"userId": alice, "profilePicture": "0" * 32, "updatedAt": current["updatedAt"]}
    assert "no picture named" in problem(update(client, token, body), 404)["detail"]
    refusal = db.exec(select(AuditLog).where(AuditLog.outcome == "invalid")).one()
    assert refusal.action == "picture.use"


def test_delete_picture_falls_back_to_the_previous_version(
    client: TestClient[Any], alice: int, token: str, published: list[Change]
) -> None:
    first = upload(client, token, alice, jpeg("red")).json()
    upload(client, token, alice, jpeg("blue"))
    response = delete(client, token, alice)
    assert response.status_code == 200
    assert (response.json()["version"], response.json()["filename"]) == (1, first["filename"])
    assert (published[-1].version, published[-1].kind) == (3, "deleted")


def test_delete_of_the_last_picture_leaves_the_default_avatar(
    client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    gone = upload(client, token, alice).json()
    body = delete(client, token, alice).json()
    assert (body["version"], body["filename"], body["urls"]) == (None, None, None)
    deleted = db.exec(select(ProfilePicture)).one()
    assert deleted.deleted_at is not None  # soft: restorable for 30 days
    assert client.get(gone["urls"]["md"]["1x"]).status_code == 410


def test_delete_without_a_picture_is_404(client: TestClient[Any], alice: int, token: str) -> None:
    assert problem(delete(client, token, alice), 404)["detail"] == (
        f"Member {alice} has no picture to delete."
    )


def test_sync_with_the_current_picture_is_not_stale_and_records_the_sync(
    client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    current = upload(client, token, alice).json()
    body = {
        "userId": alice,
        "profilePicture": current["filename"],
        "syncTimestamp": iso(datetime.now(UTC)),
    }
    response = sync(client, token, body)
    assert response.status_code == 200
    answer = response.json()
    assert answer["stale"] is False
    assert answer["current"] == state_part(current) | {"pictureVersion": 1}
    assert profile_of(db, alice).last_picture_sync is not None
    assert answer["syncedAt"] == iso(profile_of(db, alice).last_picture_sync or datetime.min)


def test_sync_with_another_picture_is_stale(
    client: TestClient[Any], alice: int, token: str
) -> None:
    old = upload(client, token, alice, jpeg("red")).json()
    new = upload(client, token, alice, jpeg("blue")).json()
    now = iso(datetime.now(UTC))
    answer = sync(
        client, token, {"userId": alice, "profilePicture": old["filename"], "syncTimestamp": now}
    ).json()
    assert answer["stale"] is True
    assert answer["current"]["filename"] == new["filename"]


def test_sync_older_than_the_last_change_is_stale(
    client: TestClient[Any], alice: int, token: str
) -> None:
    current = upload(client, token, alice).json()
    body = {
        "userId": alice,
        "profilePicture": current["filename"],
        "syncTimestamp": "2000-01-01T00:00:00Z",
    }
    assert sync(client, token, body).json()["stale"] is True


def test_sync_of_the_default_avatar_with_null_is_not_stale(
    client: TestClient[Any], alice: int, token: str
) -> None:
    now = iso(datetime.now(UTC) + timedelta(seconds=1))
    body = {"userId": alice, "profilePicture": None, "syncTimestamp": now}
    assert sync(client, token, body).json()["stale"] is False
