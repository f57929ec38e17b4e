"""The directory, member pages and the profile page, with and without htmx."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient
from sqlmodel import Session

from db.models import User
from tests.factories import add_member
from tests.forms import log_in
from tests.html import avatars, one, parse


@pytest.mark.parametrize("hx", [False, True])
def test_directory_lists_every_member_with_a_md_avatar(
    client: TestClient[Any], db: Session, hx: bool
) -> None:
    ids = {add_member(db, handle) for handle in ("alice", "bob", "carol")}
    headers = {"HX-Request": "true"} if hx else {}
    response = client.get("/members", headers=headers)
    assert response.status_code == 200
    cards = parse(response.text).select(".member-card")
    assert [card.select_one(".member-handle").get_text() for card in cards] == [
        "@alice",
        "@bob",
        "@carol",
    ]
    card_avatars = [a for a in avatars(response.text) if a["data-avatar-size"] == "md"]
    assert {int(a["data-user-id"]) for a in card_avatars} == ids


def test_directory_header_shows_the_viewer_avatar(
    client: TestClient[Any], db: Session, alice: int
) -> None:
    log_in(client, "alice")
    header = one(client.get("/members").text, "header [data-user-id]")
    assert (header["data-user-id"], header["data-avatar-size"]) == (str(alice), "xs")


def test_member_page_shows_a_large_avatar(client: TestClient[Any], alice: int) -> None:
    response = client.get("/members/alice")
    assert response.status_code == 200
    avatar = one(response.text, "main [data-user-id]")
    assert avatar["data-avatar-size"] == "lg"
    assert one(response.text, "h1").get_text() == "Alice Liddell"


def test_member_page_says_since_when_in_the_one_date_format(
    client: TestClient[Any], db: Session, alice: int
) -> None:
    joined = one(client.get("/members/alice").text, ".member-handle time[datetime]")
    user = db.get(User, alice)
    assert user is not None
    assert joined["datetime"] == user.created_at.isoformat()
    assert joined.get_text() == user.created_at.strftime("%-d %b %Y, %H:%M") + " UTC"


def test_unknown_member_page_is_404(client: TestClient[Any]) -> None:
    assert client.get("/members/nobody").status_code == 404


def test_profile_redirects_anonymous_visitors_to_login(client: TestClient[Any]) -> None:
    response = client.get("/profile", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/profile"


def test_pages_carry_a_csp_without_inline_script(client: TestClient[Any], alice: int) -> None:
    response = client.get("/members")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    scripts = parse(response.text).select("script")
    assert scripts
    assert all(script.get("src") and not script.get_text().strip() for script in scripts)


def test_static_assets_are_versioned_by_content(client: TestClient[Any]) -> None:
    page = parse(client.get("/login").text)
    href = page.select_one("link[rel=stylesheet]")["href"]
    assert href.startswith("/static/css/app.css?v=")
    assert client.get(href).status_code == 200


def test_healthz_and_readyz(client: TestClient[Any]) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok", "database": "ok", "events": "ok"}


def test_every_post_form_carries_a_csrf_token(
    client: TestClient[Any], db: Session, alice: int
) -> None:
    log_in(client, "alice")
    for path in ("/profile", "/members", "/members/alice"):
        forms = parse(client.get(path).text).select("form[method=post]")
        assert forms, path
        for form in forms:
            token = form.select_one("input[name=_csrf_token]")
            assert token is not None and token["value"], (path, form.get("action"))


def test_member_pages_send_anonymous_visitors_to_login_and_back(
    client: TestClient[Any], alice: int
) -> None:
    page = client.get("/profile/picture/1/crop", follow_redirects=False)
    assert (page.status_code, page.headers["location"]) == (
        303,
        "/login?next=/profile/picture/1/crop",
    )
    token = client.get("/login").cookies.get("csrftoken") or client.cookies.get("csrftoken")
    post = client.post(
        "/profile/picture/delete", data={"_csrf_token": token}, follow_redirects=False
    )
    assert (post.status_code, post.headers["location"]) == (303, "/login?next=/profile")
    htmx = client.post(
        "/profile/picture/delete",
        data={"_csrf_token": token},
        headers={"HX-Request": "true"},
        follow_redirects=False,
    )
    assert (htmx.status_code, htmx.headers["hx-redirect"]) == (401, "/login?next=/profile")
