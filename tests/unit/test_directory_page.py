"""GET /members: a page of cards, the next page's `<a rel="next">` (a plain link, wired for
htmx's infinite scroll), the search form and `?q=`, and the refusals of a search or cursor that
cannot be (400, the form still there)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from bs4 import BeautifulSoup
from litestar.testing import TestClient
from sqlmodel import Session

from tests.factories import add_member
from tests.html import one, parse
from web.services.accounts import demo
from web.services.accounts.directory import MAX_SEARCH_CHARS, PAGE_SIZE


def handles(page: BeautifulSoup) -> list[str]:
    return [h.get_text().removeprefix("@") for h in page.select("#member-list .member-handle")]


def test_each_page_links_the_next_until_the_last(client: TestClient[Any], db: Session) -> None:
    demo.add_members(db, PAGE_SIZE + 1, "x")
    first = parse(client.get("/members").text)
    assert len(handles(first)) == PAGE_SIZE
    more = one(str(first), "a[rel=next]")
    second = client.get(more["href"])
    assert second.status_code == 200
    last = parse(second.text)
    assert len(handles(last)) == 1
    assert set(handles(last)).isdisjoint(handles(first))
    assert last.select("a[rel=next]") == []
    # What htmx swaps in place of the link on the last page: nothing to scroll to.
    assert one(second.text, "#more-members").has_attr("hidden")


def test_the_next_link_loads_its_cards_into_the_list_with_htmx(
    client: TestClient[Any], db: Session
) -> None:
    demo.add_members(db, PAGE_SIZE + 1, "x")
    more = one(client.get("/members").text, "a[rel=next]")
    assert more["hx-get"] == more["href"]
    assert more["hx-trigger"] == "revealed"
    assert (more["hx-target"], more["hx-swap"]) == ("#member-list", "beforeend")
    # The link is morphed into the next page's: a keyboard user who tabbed to it keeps focus.
    assert more["hx-select"] == "#member-list > li"
    assert more["hx-select-oob"] == "#more-members:outerMorph"
    assert more["id"] == "more-members"
    # It queues with the search form: a search gives up a page still loading.
    assert more["hx-sync"] == "#member-search:drop"
    assert one(client.get("/members").text, "#member-search")["hx-sync"] == "this:replace"
    # htmx asks for the same page a browser gets: the cards are there to select.
    htmx = client.get(more["href"], headers={"HX-Request": "true"})
    assert len(parse(htmx.text).select("#member-list > li")) == 1


def test_the_search_form_works_without_javascript_and_live_with_htmx(
    client: TestClient[Any],
) -> None:
    form = one(client.get("/members").text, "form[role=search]")
    assert (form["action"], form["method"]) == ("/members", "get")
    field = one(str(form), "input[name=q]")
    assert one(str(form), "label").get_text() == "Search members"
    assert one(str(form), "label")["for"] == field["id"]
    assert field["maxlength"] == str(MAX_SEARCH_CHARS)
    assert form["hx-get"] == "/members"
    assert "delay:" in form["hx-trigger"] and "submit" in form["hx-trigger"]
    assert (form["hx-target"], form["hx-select"]) == ("#member-results", "#member-results")


def test_a_search_shows_what_it_found_and_pages_on_with_the_same_search(
    client: TestClient[Any], db: Session
) -> None:
    add_member(db, "alice", "Alice Liddell")
    for n in range(PAGE_SIZE + 2):
        add_member(db, f"lee-{n:02}", "Ann Lee")
    page = client.get("/members", params={"q": "LIDD"})
    assert handles(parse(page.text)) == ["alice"]
    assert one(page.text, "input[name=q]")["value"] == "LIDD"
    assert one(page.text, "[role=status]").get_text() == (
        "Members whose name or handle contains “LIDD”."
    )
    lees = parse(client.get("/members", params={"q": "ann lee"}).text)
    query = parse_qs(urlsplit(one(str(lees), "a[rel=next]")["href"]).query)
    assert query == {"q": ["ann lee"], "after": [f"ann lee\nlee-{PAGE_SIZE - 1:02}"]}
    rest = handles(parse(client.get("/members", params={"q": "ann lee", **query}).text))
    assert rest == ["lee-48", "lee-49"]


def test_a_search_that_finds_nobody_says_so(client: TestClient[Any], alice: int) -> None:
    page = client.get("/members", params={"q": "<b>zz"})
    assert page.status_code == 200
    status = one(page.text, "[role=status]").get_text()
    assert status == "No member’s name or handle contains “<b>zz”."  # text, not markup
    assert parse(page.text).select("#member-list") == []


def test_a_search_too_long_is_refused_in_the_form(client: TestClient[Any], alice: int) -> None:
    page = client.get("/members", params={"q": "a" * (MAX_SEARCH_CHARS + 1)})
    assert page.status_code == 400
    field = one(page.text, "form[role=search] input[name=q]")
    assert field["aria-invalid"] == "true"
    error = one(page.text, f"#{field['aria-describedby']}")
    assert error.get_text() == f"A search is at most {MAX_SEARCH_CHARS} characters."
    assert parse(page.text).select("#member-list") == []


def test_a_damaged_cursor_is_refused(client: TestClient[Any], alice: int) -> None:
    page = client.get("/members?after=alice%00")
    assert page.status_code == 400
    assert "This link to a page of the directory is damaged" in page.text
    assert parse(page.text).select("form[role=search]")


def test_an_empty_directory_invites_a_sign_up(client: TestClient[Any]) -> None:
    page = client.get("/members")
    assert one(page.text, "#member-results a[href='/signup']").get_text() == "Be the first."
    assert parse(page.text).select("a[rel=next]") == []


def test_a_cursor_past_the_last_member_says_so(client: TestClient[Any], alice: int) -> None:
    for params in ({"after": "zzz"}, {"after": "zzz", "q": "ali"}):
        page = client.get("/members", params=params)
        assert page.status_code == 200
        assert one(page.text, "#member-results a[href='/members']").get_text() == (
            "Back to the start"
        )
