"""Minimum size advice: the upload form recommends the largest variant's 2x side; a picture
whose square is smaller is kept, with a warning on the page and in the API's answer."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient
from sqlmodel import Session, select

from db.models import ProfilePicture
from tests import api_support, images
from tests.factories import jpeg
from tests.forms import HX, redirected, upload
from tests.html import one, parse
from web.services.imaging import RECOMMENDED_MIN_PX, SIZES, VARIANT_PX

BLURRED = "The square cut from this picture is only {side}×{side} pixels: it will look blurred"


def test_the_recommendation_is_the_largest_avatars_2x_side() -> None:
    assert RECOMMENDED_MIN_PX == max(VARIANT_PX) == 2 * max(SIZES.values())


def test_the_upload_form_says_the_recommended_minimum(client: TestClient[Any], member: int) -> None:
    help_text = one(client.get("/profile").text, "#upload-help").get_text(" ", strip=True)
    side = RECOMMENDED_MIN_PX
    assert (
        f"Recommended: at least {side}×{side} pixels; smaller pictures look blurred." in help_text
    )


def test_a_10x10_picture_is_kept_with_a_visible_warning(
    client: TestClient[Any], db: Session, member: int
) -> None:
    page = redirected(client, upload(client, images.png((10, 10)), name="tiny.png"))
    assert one(page.text, ".flash-ok").get_text(strip=True) == "Version 1 uploaded."
    warning = one(page.text, ".flash-warning[role=status]").get_text(strip=True)
    assert warning.startswith(BLURRED.format(side=10))
    assert f"{RECOMMENDED_MIN_PX}×{RECOMMENDED_MIN_PX} pixels or more is recommended" in warning
    assert [p.version for p in db.exec(select(ProfilePicture)).all()] == [1]


def test_with_htmx_the_warning_comes_in_the_swap(client: TestClient[Any], member: int) -> None:
    swapped = upload(client, images.png((10, 10)), headers=HX)
    assert swapped.status_code == 200
    assert BLURRED.format(side=10) in one(swapped.text, ".flash-warning").get_text()


@pytest.mark.parametrize(
    ("size", "side"),
    [((RECOMMENDED_MIN_PX - 1,) * 2, RECOMMENDED_MIN_PX - 1), ((1000, 200), 200)],
)
def test_a_square_under_the_recommended_side_warns(
    client: TestClient[Any], member: int, size: tuple[int, int], side: int
) -> None:
    page = redirected(client, upload(client, jpeg(size=size)))
    assert BLURRED.format(side=side) in one(page.text, ".flash-warning").get_text()


def test_a_picture_at_the_recommended_size_has_no_warning(
    client: TestClient[Any], member: int
) -> None:
    page = redirected(client, upload(client, jpeg(size=(RECOMMENDED_MIN_PX, 600))))
    assert one(page.text, ".flash-ok").get_text(strip=True) == "Version 1 uploaded."
    assert parse(page.text).select(".flash-warning") == []


def test_the_api_answers_warnings_and_a_retry_answers_the_same(
    client: TestClient[Any], db: Session, alice: int
) -> None:
    token = api_support.make_token(db, alice)
    small = api_support.upload(client, token, alice, images.png((10, 10)), key="small-1")
    assert small.status_code == 201
    [warning] = small.json()["warnings"]
    assert warning["code"] == "small_picture"
    assert warning["message"].startswith(BLURRED.format(side=10))
    again = api_support.upload(client, token, alice, images.png((10, 10)), key="small-1")
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["warnings"] == [warning]
    large = api_support.upload(client, token, alice, jpeg(size=(800, 600)))
    assert large.json()["warnings"] == []
