"""The avatar component: sizes, default avatar, escaping, and the ETag/304 path."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient
from sqlmodel import Session

from tests.factories import add_member
from tests.html import avatars, one
from web.services.imaging.types import SIZES
from web.services.pictures.avatars import Avatar
from web.services.sync import record_change


@pytest.mark.parametrize(("size", "px"), sorted(SIZES.items()))
def test_fragment_renders_the_requested_size(
    client: TestClient[Any], alice: int, size: str, px: int
) -> None:
    response = client.get(f"/components/avatar/{alice}?size={size}")
    assert response.status_code == 200
    element = one(response.text, "[data-user-id]")
    assert element["data-user-id"] == str(alice)
    assert element["data-avatar-size"] == size
    svg = one(response.text, "svg")
    assert (svg["width"], svg["height"]) == (str(px), str(px))


def test_default_avatar_is_inline_svg_with_initials_and_accessible_name(
    client: TestClient[Any], alice: int
) -> None:
    response = client.get(f"/components/avatar/{alice}?size=sm")
    element = one(response.text, "[data-user-id]")
    assert element["role"] == "img"
    assert element["aria-label"] == "Alice Liddell"
    assert one(response.text, "svg text").get_text() == "AL"
    assert not one(response.text, "[data-user-id]").select("img")


def test_default_colour_is_stable_per_member_and_differs_between_neighbours() -> None:
    def colour(user_id: int) -> str:
        return Avatar(user_id=user_id, display_name="X", version=0, picture=None).colour

    assert colour(7) == colour(7)
    assert len({colour(i) for i in range(1, 9)}) == 8


def test_display_name_with_markup_is_escaped(client: TestClient[Any], db: Session) -> None:
    user_id = add_member(db, "mallory", '<script>alert("x")</script>')
    response = client.get(f"/components/avatar/{user_id}")
    element = one(response.text, "[data-user-id]")
    assert element["aria-label"] == '<script>alert("x")</script>'
    assert not avatars(response.text)[0].select("script")
    assert "<script>" not in response.text


def test_unknown_size_is_400(client: TestClient[Any], alice: int) -> None:
    assert client.get(f"/components/avatar/{alice}?size=huge").status_code == 400


def test_unknown_member_is_404(client: TestClient[Any], alice: int) -> None:
    assert client.get("/components/avatar/9999").status_code == 404


def test_matching_etag_is_304_without_body(client: TestClient[Any], alice: int) -> None:
    first = client.get(f"/components/avatar/{alice}?size=md")
    etag = first.headers["etag"]
    second = client.get(f"/components/avatar/{alice}?size=md", headers={"If-None-Match": etag})
    assert second.status_code == 304
    assert second.content == b""
    assert second.headers["etag"] == etag


def test_etag_differs_per_size(client: TestClient[Any], alice: int) -> None:
    small = client.get(f"/components/avatar/{alice}?size=sm").headers["etag"]
    large = client.get(f"/components/avatar/{alice}?size=lg").headers["etag"]
    assert small != large


def test_version_bump_changes_etag_and_answers_200(
    client: TestClient[Any], db: Session, alice: int
) -> None:
    etag = client.get(f"/components/avatar/{alice}").headers["etag"]
    # Every change goes through record_change: its commit drops the member's cached state.
    record_change(db, user_id=alice, kind="updated")
    db.commit()
    response = client.get(f"/components/avatar/{alice}", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["etag"] != etag


def test_fragment_asks_htmx_for_a_refetch_on_its_members_event(
    client: TestClient[Any], alice: int
) -> None:
    element = one(client.get(f"/components/avatar/{alice}?size=xs").text, "[data-user-id]")
    assert element["hx-get"] == f"/components/avatar/{alice}?size=xs"
    assert element["hx-trigger"] == f"avatar-{alice} from:body"


def test_same_fragment_with_hx_request(client: TestClient[Any], alice: int) -> None:
    plain = client.get(f"/components/avatar/{alice}")
    htmx = client.get(f"/components/avatar/{alice}", headers={"HX-Request": "true"})
    assert htmx.status_code == 200
    assert htmx.text == plain.text
    assert "HX-Request" in htmx.headers["vary"]


def _contrast(css_hsl: str, ink: str) -> float:
    import colorsys
    import re

    hue, sat, light = (float(n) for n in re.findall(r"[\d.]+", css_hsl))
    rgb = colorsys.hls_to_rgb(hue / 360, light / 100, sat / 100)

    def lum(channels: list[float]) -> float:
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    back = lum([round(c * 255) / 255 for c in rgb])
    fore = lum([int(ink[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    high, low = max(back, fore), min(back, fore)
    return (high + 0.05) / (low + 0.05)


def test_initials_contrast_with_their_background_at_least_4_5_to_1() -> None:
    from web.services.pictures.avatars import colour, ink

    worst = min(_contrast(colour(user_id), ink(user_id)) for user_id in range(1, 2001))
    assert worst >= 4.5


def test_initials_are_drawn_in_the_chosen_ink(client: TestClient[Any], alice: int) -> None:
    from web.services.pictures.avatars import ink

    text = one(client.get(f"/components/avatar/{alice}?size=md").text, "svg text")
    assert text["fill"] == ink(alice)
