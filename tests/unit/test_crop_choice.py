"""The re-crop page without JavaScript: a simple choice of squares (the face's when one is
found, centre and the edges the shape leaves room for, exact fractions), each drawn by the
server; what each choice saves; a refusal by post/redirect/get."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient
from sqlmodel import Session, select

from db.models import ProfilePicture
from tests.factories import jpeg
from tests.forms import post, redirected, upload
from tests.html import one, parse
from tests.unit.test_face_crop import hopper_off_centre


def choices(text: str) -> list[str]:
    return [str(radio["value"]) for radio in parse(text).select("input[name=cropChoice]")]


def checked(text: str) -> str:
    return str(one(text, "input[name=cropChoice][checked]")["value"])


def saved_crop(db: Session, version: int) -> tuple[list[float], str, tuple[int, int]]:
    db.expire_all()
    row = db.exec(select(ProfilePicture).where(ProfilePicture.version == version)).one()
    return row.meta["crop"], row.meta["crop_source"], (row.width, row.height)


@pytest.mark.parametrize(
    ("size", "offered"),
    [
        ((600, 300), ["left", "centre", "right", "exact"]),
        ((300, 600), ["top", "centre", "bottom", "exact"]),
        ((400, 400), ["centre", "exact"]),
    ],
)
def test_the_choice_offers_the_squares_the_shape_leaves_room_for(
    client: TestClient[Any], member: int, size: tuple[int, int], offered: list[str]
) -> None:
    upload(client, jpeg(size=size))
    page = client.get("/profile/picture/1/crop").text
    assert one(page, "fieldset.crop-choice > legend").get_text(strip=True) == "Crop"
    assert choices(page) == offered
    assert checked(page) == "centre"  # what the version was cut to (no face in it)


def test_a_face_found_is_offered_first_and_chosen(client: TestClient[Any], member: int) -> None:
    upload(client, hopper_off_centre())
    page = client.get("/profile/picture/1/crop").text
    assert choices(page) == ["face", "left", "centre", "right", "exact"]
    assert checked(page) == "face"
    label = one(page, "label.crop-option:has(input[value=face])")
    assert label.get_text(strip=True) == "Face"


def test_each_square_is_drawn_over_the_picture_and_as_a_thumbnail(
    client: TestClient[Any], member: int
) -> None:
    upload(client, jpeg(size=(600, 300)))
    page = client.get("/profile/picture/1/crop").text
    overlay = one(page, "[data-cropper] svg.crop-outlines")
    assert overlay["viewbox"] == "0 0 600 300"  # the master's pixels (html.parser: lower case)
    circles = {
        g["data-choice"]: (g.circle["cx"], g.circle["cy"], g.circle["r"])
        for g in overlay.select("g.crop-outline")
    }
    assert circles == {
        "left": ("150.0", "150.0", "150.0"),
        "centre": ("300.0", "150.0", "150.0"),
        "right": ("450.0", "150.0", "150.0"),
        "exact": ("300.0", "150.0", "150.0"),  # the saved crop, in the exact fields
    }
    thumb = one(page, "label.crop-option:has(input[value=right]) svg.crop-thumb")
    assert thumb["viewbox"] == "300.0 0.0 300.0 300.0"
    assert thumb.image["href"] == "/profile/picture/1/master"
    assert parse(page).select("[style]") == []  # the CSP allows no inline style


@pytest.mark.parametrize(
    ("choice", "crop"),
    [("left", [0.0, 0.0, 1.0]), ("right", [0.5, 0.0, 1.0]), ("centre", [0.25, 0.0, 1.0])],
)
def test_a_named_square_is_saved_as_chosen(
    client: TestClient[Any], db: Session, member: int, choice: str, crop: list[float]
) -> None:
    upload(client, jpeg(size=(600, 300)))
    response = post(client, "/profile/picture/1/crop", cropChoice=choice, cropX="0.9")
    assert response.status_code == 303  # the exact fields are not read for a named square
    assert saved_crop(db, 2) == (crop, "member", (600, 300))


def test_the_face_choice_saves_the_square_on_the_face(
    client: TestClient[Any], db: Session, member: int
) -> None:
    upload(client, hopper_off_centre(), cropX="0", cropY="0", cropSize="0.5")
    response = post(client, "/profile/picture/1/crop", cropChoice="face")
    assert response.status_code == 303
    crop, source, _size = saved_crop(db, 2)
    assert source == "face"
    assert crop[0] > 0.6  # on the right, where the face is


def test_a_turned_picture_offers_and_saves_its_own_squares(
    client: TestClient[Any], db: Session, member: int
) -> None:
    upload(client, jpeg(size=(600, 300)))
    page = client.get("/profile/picture/1/crop?turns=1").text
    assert choices(page) == ["top", "centre", "bottom", "exact"]
    response = post(client, "/profile/picture/1/crop", cropChoice="bottom", turns="1")
    assert response.status_code == 303
    assert saved_crop(db, 2) == ([0.0, 0.5, 1.0], "member", (300, 600))


def test_exact_fractions_are_saved_when_exact_is_chosen(
    client: TestClient[Any], db: Session, member: int
) -> None:
    upload(client, jpeg(size=(600, 300)))
    fields = {"cropX": "0.1", "cropY": "0.2", "cropSize": "0.5"}
    post(client, "/profile/picture/1/crop", cropChoice="exact", **fields)
    assert saved_crop(db, 2)[0] == [0.1, 0.2, 0.5]


def test_an_unknown_choice_is_refused_on_the_page_by_post_redirect_get(
    client: TestClient[Any], db: Session, member: int
) -> None:
    upload(client, jpeg(size=(600, 300)))
    response = post(client, "/profile/picture/1/crop", cropChoice="middle", turns="1")
    page = redirected(client, response, "/profile/picture/1/crop?turns=1")
    assert "Choose one of the crops offered" in one(page.text, "[role=alert]").get_text()
    assert one(page.text, "input[name=turns]")["value"] == "1"
    again = client.get("/profile/picture/1/crop?turns=1")  # a reload: said once, posts nothing
    assert parse(again.text).select("[role=alert]") == []
    assert len(db.exec(select(ProfilePicture)).all()) == 1


def test_a_small_recropped_square_is_saved_with_a_warning(
    client: TestClient[Any], member: int
) -> None:
    upload(client, jpeg(size=(800, 600)))
    fields = {"cropX": "0", "cropY": "0", "cropSize": "0.25"}  # 150 px of the 600 px side
    response = post(client, "/profile/picture/1/crop", cropChoice="exact", **fields)
    page = redirected(client, response)
    assert one(page.text, ".flash-ok").get_text(strip=True) == "Version 2 saved from version 1."
    assert "150×150 pixels" in one(page.text, ".flash-warning").get_text()
