"""The cropper's starting square offered by the server, and which crop a version records."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient
from sqlmodel import Session, select

from db.models import ProfilePicture
from tests import images
from tests.forms import csrf, upload
from tests.html import one
from tests.unit.test_face_crop import hopper_off_centre
from web.services.imaging import suggest_crop


def suggest(client: TestClient[Any], data: bytes, name: str = "me.jpg") -> Any:
    return client.post(
        "/profile/picture/suggest-crop",
        files={"profilePicture": (name, data, "image/jpeg")},
        data={"_csrf_token": csrf(client)},
    )


def meta_of(db: Session, user_id: int, version: int) -> dict[str, Any]:
    db.expire_all()
    row = db.exec(
        select(ProfilePicture).where(
            ProfilePicture.user_id == user_id, ProfilePicture.version == version
        )
    ).one()
    return dict(row.meta)


def test_suggest_crop_answers_the_face_square_as_json(client: TestClient[Any], member: int) -> None:
    data = hopper_off_centre()
    response = suggest(client, data)
    assert response.status_code == 200
    expected = suggest_crop(data).crop
    assert response.json() == {
        "x": expected.x,
        "y": expected.y,
        "size": expected.size,
        "source": "face",
    }


def test_suggest_crop_of_a_faceless_picture_is_the_centre(
    client: TestClient[Any], member: int
) -> None:
    body = suggest(client, images.jpeg((300, 100))).json()
    assert body == {"x": pytest.approx(1 / 3), "y": 0.0, "size": 1.0, "source": "centre"}


def test_suggest_crop_of_a_non_picture_is_415_with_the_message(
    client: TestClient[Any], member: int
) -> None:
    response = suggest(client, images.html_renamed())
    assert response.status_code == 415
    assert "HEIC/HEIF or AVIF" in response.json()["error"]


def test_suggest_crop_needs_a_member(client: TestClient[Any]) -> None:
    response = client.post(
        "/profile/picture/suggest-crop",
        files={"profilePicture": ("me.jpg", images.jpeg(), "image/jpeg")},
        data={"_csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert response.status_code in (303, 401)


def test_upload_without_crop_records_the_face_crop(
    client: TestClient[Any], db: Session, member: int
) -> None:
    data = hopper_off_centre()
    upload(client, data)
    meta = meta_of(db, member, 1)
    crop = suggest_crop(data).crop
    assert meta["crop_source"] == "face"
    assert meta["crop"] == [crop.x, crop.y, crop.size]


def test_members_crop_is_recorded_as_theirs(
    client: TestClient[Any], db: Session, member: int
) -> None:
    upload(client, hopper_off_centre(), cropX="0", cropY="0", cropSize="0.5")
    meta = meta_of(db, member, 1)
    assert (meta["crop_source"], meta["crop"]) == ("member", [0.0, 0.0, 0.5])


def test_upload_form_asks_the_server_for_the_starting_square(
    client: TestClient[Any], member: int
) -> None:
    page = client.get("/profile")
    cropper = one(page.text, "#upload-form [data-cropper]")
    assert cropper["data-suggest-url"] == "/profile/picture/suggest-crop"
    accept = one(page.text, "#profilePicture")["accept"].split(",")
    assert {"image/heic", "image/heif", "image/avif", ".heic", ".avif"} <= set(accept)


def test_recrop_page_starts_from_the_versions_own_crop(
    client: TestClient[Any], member: int
) -> None:
    upload(client, hopper_off_centre())
    crop = suggest_crop(hopper_off_centre()).crop
    page = client.get("/profile/picture/1/crop")
    start = [f"{v:.4f}" for v in (crop.x, crop.y, crop.size)]
    # The cropper starts from the form's fields when they hold a crop (static/js/cropper.js).
    assert [one(page.text, f"input#{n}")["value"] for n in ("cropX", "cropY", "cropSize")] == start
