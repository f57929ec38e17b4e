"""The landing page: a visitor's `/` says what the site is and offers sign-up and log-in; a
member's `/` is their profile."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient

from tests.html import one, parse


def test_a_visitor_lands_on_a_page_that_says_what_this_is(client: TestClient[Any]) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 200
    page = parse(response.text)
    assert one(response.text, "main h1").get_text() == "Profile Picture Sync"
    assert (
        "keeps your profile picture on this member site" in one(response.text, ".lead").get_text()
    )
    ways_in = {a.get_text(): a["href"] for a in page.select(".landing-actions a")}
    assert ways_in == {"Sign up": "/signup", "Log in": "/login"}


def test_a_member_lands_on_their_profile(client: TestClient[Any], member: int) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/profile"


def test_the_profile_shows_the_member_id_to_copy_and_links_the_reference(
    client: TestClient[Any], member: int
) -> None:
    page = client.get("/profile").text
    assert one(page, "code#member-id").get_text() == str(member)
    copy = one(page, "button[data-copy=member-id]")
    assert copy.has_attr("hidden") and copy["aria-label"] == "Copy your member id"
    links = {a.get_text(): a["href"] for a in parse(page).select("main a")}
    assert links["API reference"] == "/schema/reference"
    assert links["API tokens"] == "/profile/tokens"
