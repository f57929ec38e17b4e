"""Choosing a file on /profile, the server's side (issue 24, points 3, 4, 5 and 9): the crop
suggestion takes a small copy under its own cap and allowance, never the uploads'; every 429
says the wait its Retry-After gives; the form carries the server's words for the refusals the
browser says at once; a Rotate link keeps the crop, turned with the picture. The browser's side:
tests/e2e/test_choose_file.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlmodel import Session, select

from db.models import ProfilePicture
from tests import images
from tests.forms import HX, log_in, post, redirected, upload
from tests.html import one
from tests.unit.test_suggest_crop import suggest
from web.app import create_app
from web.plumbing.throttle import wait_text
from web.routes.profile_page import copy_edge
from web.services import imaging
from web.services.imaging import Crop, faces
from web.services.imaging.types import REFUSALS
from web.settings import Settings


@pytest.fixture
def limited(settings: Settings, alice: int) -> Iterator[TestClient[Litestar]]:
    """alice, signed in, on an app allowing 2 uploads and 3 suggestions a minute, and
    suggestions of at most 20 KiB."""
    tight = replace(
        settings, uploads_per_minute=2, suggestions_per_minute=3, suggestion_max_bytes=20 * 1024
    )
    with TestClient(create_app(tight)) as client:
        log_in(client, "alice")
        yield client


def said_wait(response: Any, text: str) -> None:
    """The refusal's sentence says exactly the wait of its Retry-After."""
    wait = int(response.headers["retry-after"])
    assert 0 < wait <= 60
    assert f"try again in {wait_text(wait)}." in text, text


def test_suggestions_have_an_allowance_of_their_own(limited: TestClient[Any]) -> None:
    small = images.jpeg((200, 150))
    assert [suggest(limited, small).status_code for _ in range(3)] == [200, 200, 200]
    refused = suggest(limited, small)
    assert refused.status_code == 429
    said_wait(refused, refused.json()["error"])
    assert "crop suggestions" in refused.json()["error"]
    # Three suggestions used none of the two uploads.
    assert [upload(limited, small).status_code for _ in range(2)] == [303, 303]
    too_many = upload(limited, small, headers=HX)  # htmx: said in place, with the status
    assert too_many.status_code == 429
    said_wait(too_many, one(too_many.text, "#upload-error").get_text())


def test_uploads_do_not_use_up_the_suggestions(limited: TestClient[Any]) -> None:
    small = images.jpeg((200, 150))
    assert [upload(limited, small, headers=HX).status_code for _ in range(3)] == [200, 200, 429]
    assert suggest(limited, small).status_code == 200


def test_a_suggestion_past_suggestion_max_bytes_is_413_json(limited: TestClient[Any]) -> None:
    words = "The copy sent for a crop suggestion is larger than 20 KiB"
    # Past the body's cap: refused from its Content-Length, before it is read.
    past_body = suggest(limited, images.jpeg((64, 64)) + b"\0" * (200 * 1024))
    assert past_body.status_code == 413
    assert past_body.json()["error"].startswith(words)
    # Within the multipart framing's room, past the picture's cap: the service says the same.
    past_picture = suggest(limited, images.jpeg((64, 64)) + b"\0" * (30 * 1024))
    assert past_picture.status_code == 413
    assert past_picture.json()["error"].startswith(words)
    assert suggest(limited, images.jpeg((512, 384))).status_code == 200  # a copy is well under


def test_the_api_says_the_wait_of_its_429(settings: Settings, alice: int) -> None:
    with TestClient(create_app(settings)) as client:
        answers = [client.get("/api/profile/picture/1/history") for _ in range(61)]
    refused = answers[-1]
    assert refused.status_code == 429
    said_wait(refused, refused.json()["detail"])


def test_the_form_carries_the_servers_words_for_a_chosen_file(
    client: TestClient[Any], member: int, settings: Settings
) -> None:
    form = one(client.get("/profile").text, "form#upload-form")
    limits = imaging.Limits(max_bytes=settings.max_upload_bytes)
    said = {code: imaging.rejected(code, limits).message for code in REFUSALS}
    assert form["data-refusal-empty"] == said["empty"]
    assert form["data-refusal-unsupported"] == said["unsupported_format"]
    assert form["data-refusal-too-large"] == said["too_large"]
    assert form["data-suggest-max-bytes"] == str(settings.suggestion_max_bytes)
    signed_out = one(client.get("/profile").text, "form#upload-form template[data-signed-out]")
    link = signed_out.select_one("a")
    assert link is not None and "signed out" in signed_out.get_text()
    assert (link["href"], link["target"]) == ("/login?next=/profile", "_blank")


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_a_crop_turned_with_its_picture_is_the_same_square(turns: int) -> None:
    """600x300 with a 100 px square at (400, 50): each quarter turn clockwise maps a point
    (x, y) of a w x h picture to (h - y, x)."""
    left, top, side, width, height = 400.0, 50.0, 100.0, 600, 300
    for _ in range(turns):
        left, top, width, height = height - top - side, left, height, width
    turned = Crop(400 / 600, 50 / 300, 100 / 300).turned(600, 300, turns)
    assert turned.box(width, height) == pytest.approx((left, top, side))
    back = turned.turned(width, height, 4 - turns)
    assert (back.x, back.y, back.size) == pytest.approx((400 / 600, 50 / 300, 100 / 300))


def rotate_links(page: str) -> dict[str, dict[str, list[str]]]:
    found = {}
    for name in ("left", "right"):
        link = one(page, f"a[data-rotate]:-soup-contains('Rotate {name}')")
        found[name] = parse_qs(urlsplit(link["href"]).query)
    return found


def fields_of(page: str) -> tuple[str, ...]:
    return tuple(one(page, f"input#{name}")["value"] for name in ("cropX", "cropY", "cropSize"))


def test_rotate_links_keep_the_crop_turned_with_the_picture(
    client: TestClient[Any], member: int
) -> None:
    upload(client, images.jpeg((600, 300)), cropX="0.6667", cropY="0.1667", cropSize="0.3333")
    page = client.get("/profile/picture/1/crop").text
    links = rotate_links(page)
    assert links["right"] == {
        "turns": ["1"],
        "from": ["0"],
        "cropX": ["0.6667"],
        "cropY": ["0.1667"],
        "cropSize": ["0.3333"],
    }
    assert links["left"]["turns"] == ["3"]
    turned = client.get(
        "/profile/picture/1/crop?"
        + urlsplit(one(page, "a[data-rotate]:-soup-contains('Rotate right')")["href"]).query
    )
    # 300x600 now: the square at (400, 50) of 600x300 is at (300 - 50 - 100, 400) = (150, 400).
    assert fields_of(turned.text) == ("0.5000", "0.6667", "0.3333")
    assert one(turned.text, "input[name=turns]")["value"] == "1"
    again = rotate_links(turned.text)["right"]
    assert (again["turns"], again["from"], again["cropX"]) == (["2"], ["1"], ["0.5000"])


@pytest.mark.parametrize(
    "query",
    ["cropX=x&cropY=0&cropSize=1", "cropX=0.9&cropY=0&cropSize=0.9", "cropX=&cropY=&cropSize="],
)
def test_a_rotate_link_with_no_crop_that_fits_starts_centred(
    client: TestClient[Any], member: int, query: str
) -> None:
    upload(client, images.jpeg((600, 300)))
    page = client.get(f"/profile/picture/1/crop?turns=1&from=0&{query}")
    assert page.status_code == 200
    assert fields_of(page.text) == ("", "", "")


def test_a_refused_recrop_keeps_the_typed_crop_in_its_rotate_links(
    client: TestClient[Any], member: int
) -> None:
    upload(client, images.jpeg((600, 300)))
    typed = {"cropX": "0.9", "cropY": "0", "cropSize": "0.9", "turns": "0"}
    posted = post(client, "/profile/picture/1/crop", **typed)
    refused = redirected(client, posted, "/profile/picture/1/crop")  # post/redirect/get
    assert rotate_links(refused.text)["right"]["cropX"] == ["0.9"]
    assert re.search(r"Rotate right", refused.text)


def test_an_upload_from_a_page_opened_for_another_member_is_refused(
    client: TestClient[Any], member: int, db: Session
) -> None:
    """Signed out, then signed in as someone else in another tab: the old page's Upload must
    not change the new member's picture."""
    form = one(client.get("/profile").text, "form#upload-form")
    assert one(str(form), "input[name=memberId]")["value"] == str(member)
    refused = upload(client, images.jpeg((64, 64)), memberId=str(member + 1), headers=HX)
    assert refused.status_code == 409
    after = redirected(client, upload(client, images.jpeg((64, 64)), memberId=str(member + 1)))
    assert (
        one(after.text, "#upload-error").get_text() == one(refused.text, "#upload-error").get_text()
    )
    said = one(refused.text, "#upload-error").get_text()
    assert "opened for another member" in said and "nothing was uploaded" in said
    assert db.exec(select(ProfilePicture).where(ProfilePicture.user_id == member)).all() == []
    assert upload(client, images.jpeg((64, 64)), memberId=str(member)).status_code == 303


@pytest.mark.parametrize(("side", "edge"), [(200, 400), (100, 500), (320, 320), (600, 512)])
def test_the_copy_is_a_whole_multiple_of_the_face_searchs_side(side: int, edge: int) -> None:
    assert copy_edge(side) == edge


def test_the_form_asks_for_a_copy_the_face_search_sees_whole(
    client: TestClient[Any], member: int
) -> None:
    form = one(client.get("/profile").text, "form#upload-form")
    assert form["data-suggest-edge"] == str(copy_edge(faces.SEARCH_SIDE)) == "400"
    assert int(form["data-suggest-edge"]) <= 512
