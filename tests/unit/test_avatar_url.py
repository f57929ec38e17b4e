"""The stable avatar URL (issue 27): /members/{handle}/avatar and /avatar/{userId} redirect to
the member's current variant at the asked size, or answer a fallback; embeddable by any site."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from bs4 import BeautifulSoup
from litestar import Litestar
from litestar.testing import TestClient
from PIL import Image
from sqlalchemy import event
from sqlmodel import Session

from tests.conftest import Migrate
from tests.factories import add_member, jpeg
from tests.forms import log_in, post, upload
from web.app import create_app
from web.settings import Settings

VARIANT = re.compile(r"/media/avatars/(?P<id>\d+)/(?P<name>[0-9a-f]{32})-(?P<px>\d+)\.jpg")
CORP = "cross-origin-resource-policy"


def avatar(client: TestClient[Any], path: str, **headers: str) -> Any:
    return client.get(path, headers=headers, follow_redirects=False)


def target(response: Any) -> re.Match[str]:
    assert response.status_code == 302, response.text
    match = VARIANT.fullmatch(response.headers["location"])
    assert match, response.headers["location"]
    return match


@pytest.fixture
def pictured(client: TestClient[Any], member: int) -> int:
    """Alice, signed in on `client`, with a picture."""
    assert upload(client, jpeg("red")).status_code == 303
    return member


@pytest.mark.parametrize(("asked", "px"), [(32, 40), (64, 80), (128, 192), (512, 384)])
def test_s_redirects_to_the_smallest_variant_at_least_that_size(
    client: TestClient[Any], pictured: int, asked: int, px: int
) -> None:
    match = target(avatar(client, f"/members/alice/avatar?s={asked}"))
    assert (int(match["id"]), int(match["px"])) == (pictured, px)
    served = client.get(match[0])
    assert served.status_code == 200
    assert Image.open(io.BytesIO(served.content)).size == (px, px)


@pytest.mark.parametrize(("asked", "px"), [(1, 24), (24, 24), (41, 48), (96, 96), (2048, 384)])
def test_size_is_the_same_as_s(client: TestClient[Any], pictured: int, asked: int, px: int) -> None:
    assert int(target(avatar(client, f"/avatar/{pictured}?size={asked}"))["px"]) == px


def test_no_size_is_80_px(client: TestClient[Any], pictured: int) -> None:
    assert int(target(avatar(client, "/members/alice/avatar"))["px"]) == 80


def test_handle_and_id_point_at_the_same_file(client: TestClient[Any], pictured: int) -> None:
    by_handle = avatar(client, "/members/Alice/avatar?s=64")
    by_id = avatar(client, f"/avatar/{pictured}?s=64")
    assert by_handle.headers["location"] == by_id.headers["location"]
    assert by_handle.headers["etag"] == by_id.headers["etag"]


def test_redirect_is_cached_a_minute_and_tagged(client: TestClient[Any], pictured: int) -> None:
    response = avatar(client, "/members/alice/avatar?s=64")
    assert response.headers["cache-control"] == "public, max-age=60"
    assert re.fullmatch(r'"[0-9a-f]{32}"', response.headers["etag"])
    assert "set-cookie" not in response.headers


def test_after_an_upload_it_points_at_the_new_picture_with_a_new_etag(
    client: TestClient[Any], pictured: int
) -> None:
    before = avatar(client, "/members/alice/avatar?s=64")
    assert upload(client, jpeg("blue")).status_code == 303
    after = avatar(client, "/members/alice/avatar?s=64")
    assert target(after)["name"] != target(before)["name"]
    assert after.headers["etag"] != before.headers["etag"]
    stale = avatar(
        client, "/members/alice/avatar?s=64", **{"If-None-Match": before.headers["etag"]}
    )
    assert stale.status_code == 302


def test_a_deleted_picture_is_never_pointed_at(client: TestClient[Any], pictured: int) -> None:
    first = target(avatar(client, "/members/alice/avatar"))["name"]
    assert post(client, "/profile/picture/delete", version="1").status_code == 303
    for path in ("/members/alice/avatar", f"/avatar/{pictured}"):
        response = avatar(client, path)
        assert response.status_code == 200
        assert first not in response.text
        assert avatar(client, path + "?d=404").status_code == 404


def test_if_none_match_is_304(client: TestClient[Any], pictured: int) -> None:
    etag = avatar(client, "/members/alice/avatar?s=64").headers["etag"]
    again = avatar(client, "/members/alice/avatar?s=64", **{"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == "public, max-age=60"


def test_if_none_match_is_304_for_the_initials_too(client: TestClient[Any], alice: int) -> None:
    etag = avatar(client, "/members/alice/avatar").headers["etag"]
    assert avatar(client, "/members/alice/avatar", **{"If-None-Match": etag}).status_code == 304


def test_d_404_without_a_picture_is_404(client: TestClient[Any], alice: int) -> None:
    response = avatar(client, "/members/alice/avatar?d=404")
    assert response.status_code == 404
    assert response.headers["cache-control"] == "public, max-age=60"


def test_d_blank_is_a_transparent_pixel(client: TestClient[Any], alice: int) -> None:
    response = avatar(client, f"/avatar/{alice}?d=blank")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (1, 1)
    assert image.convert("RGBA").getpixel((0, 0))[3] == 0


def test_default_is_the_initials_on_the_members_colour(client: TestClient[Any], alice: int) -> None:
    response = avatar(client, "/members/alice/avatar?s=64")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    svg = BeautifulSoup(response.text, "html.parser").svg
    assert svg is not None
    assert (svg["width"], svg["height"]) == ("80", "80")
    assert svg.text == "AL"
    fragment = client.get(f"/components/avatar/{alice}").text
    assert svg.rect is not None and f'fill="{svg.rect["fill"]}"' in fragment
    assert "sandbox" in response.headers["content-security-policy"]


def test_a_display_name_with_markup_is_escaped(client: TestClient[Any], db: Session) -> None:
    add_member(db, "mallory", "<b & <i")
    response = avatar(client, "/members/mallory/avatar")
    assert "<b" not in response.text.split("<text", 1)[1]
    assert BeautifulSoup(response.text, "html.parser").text == "<&"


def shape(response: Any) -> tuple[Any, ...]:
    """What an answer says of the member beyond its pixels: nothing, if equal."""
    svg = BeautifulSoup(response.text, "html.parser").svg if "svg" in response.text else None
    return (
        response.status_code,
        sorted(name for name in response.headers if name != "content-length"),
        {name: response.headers[name] for name in response.headers if name not in VARYING},
        [tag.name for tag in svg.find_all(True)] if svg else response.content,
    )


VARYING = {"content-length", "etag", "date"}


@pytest.mark.parametrize("query", ["", "?d=initials", "?d=404", "?d=blank", "?s=512"])
@pytest.mark.parametrize(
    "unknown", ["/members/nobody/avatar", "/members/x!/avatar", "/avatar/9999"]
)
def test_an_unknown_member_is_answered_as_one_without_a_picture(
    client: TestClient[Any], alice: int, query: str, unknown: str
) -> None:
    assert shape(avatar(client, unknown + query)) == shape(
        avatar(client, "/members/alice/avatar" + query)
    )


@pytest.mark.parametrize("unknown", ["/avatar/abc", "/avatar/0", "/avatar/99999999999999999999"])
def test_an_id_that_is_no_id_is_answered_as_an_unknown_member(
    client: TestClient[Any], alice: int, unknown: str
) -> None:
    assert shape(avatar(client, unknown)) == shape(avatar(client, f"/avatar/{alice}"))


def test_a_handle_asked_before_it_was_taken_is_found_once_taken(
    client: TestClient[Any], db: Session
) -> None:
    assert BeautifulSoup(avatar(client, "/members/bob/avatar").text, "html.parser").text == "?"
    add_member(db, "bob", "Bob Dylan")
    assert BeautifulSoup(avatar(client, "/members/bob/avatar").text, "html.parser").text == "BD"


@pytest.mark.parametrize(
    "query",
    ["s=0", "s=-1", "s=abc", "s=2049", "s=1.5", "s=", "size=huge", "s=64&size=64", "d=mp",
     "d=https://example.org/x.png", "d=404&d=blank"],
)  # fmt: skip
def test_a_bad_size_or_fallback_is_400_with_a_message(
    client: TestClient[Any], alice: int, query: str
) -> None:
    for path in ("/members/alice/avatar", f"/avatar/{alice}", "/members/nobody/avatar"):
        response = avatar(client, f"{path}?{query}")
        assert response.status_code == 400
        assert response.headers["content-type"].startswith("text/plain")
        assert re.search(r"\b(s|size|d)\b", response.text)


def test_the_avatar_url_and_variant_files_may_be_embedded_anywhere(
    client: TestClient[Any], pictured: int
) -> None:
    redirect = avatar(client, "/members/alice/avatar?s=64")
    assert redirect.headers[CORP] == "cross-origin"
    assert client.get(redirect.headers["location"]).headers[CORP] == "cross-origin"
    assert avatar(client, "/members/nobody/avatar?d=404").headers[CORP] == "cross-origin"


@pytest.mark.parametrize(
    "path", ["/profile/picture/1/master", "/profile", "/members", "/members/alice"]
)
def test_masters_and_pages_are_not_for_other_sites(
    client: TestClient[Any], pictured: int, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers[CORP] == "same-origin"


def test_media_url_base_is_honoured(settings: Settings, migrated: Migrate) -> None:
    settings = replace(settings, media_url_base="https://cdn.example.org/pics/")
    migrated(settings.database_url)
    app = create_app(settings)
    with TestClient(app) as client, Session(app.state["engine"]) as db:
        user_id = add_member(db, "carol", "Carol")
        log_in(client, "carol")
        upload(client, jpeg())
        location = avatar(client, f"/avatar/{user_id}?s=64").headers["location"]
    assert re.fullmatch(
        rf"https://cdn\.example\.org/pics/avatars/{user_id}/[0-9a-f]{{32}}-80\.jpg", location
    )


@contextmanager
def statements(app: Litestar) -> Iterator[list[str]]:
    """The SQL statements run meanwhile."""
    seen: list[str] = []

    def keep(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(app.state["engine"], "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(app.state["engine"], "before_cursor_execute", keep)


def test_a_cached_member_costs_no_database_read(
    app: Litestar, client: TestClient[Any], pictured: int
) -> None:
    anonymous = TestClient(app)
    paths = ["/members/alice/avatar?s=64", f"/avatar/{pictured}", "/members/nobody/avatar"]
    for path in paths:
        avatar(anonymous, path)
    with statements(app) as seen:
        for path in paths:
            avatar(anonymous, path)
    assert seen == []
