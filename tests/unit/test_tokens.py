"""API tokens on /profile: created by the member (shown once), listed, revoked."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient
from sqlmodel import Session, select

from db.models import ApiToken, AuditLog
from tests.api_support import make_token, state
from tests.factories import add_member
from tests.forms import csrf
from tests.html import one, parse

HX = {"HX-Request": "true"}


def create(client: TestClient[Any], name: str, headers: dict[str, str] | None = None) -> Any:
    return client.post(
        "/profile/tokens",
        data={"name": name, "_csrf_token": csrf(client)},
        headers=headers or {},
        follow_redirects=False,
    )


def revoke(client: TestClient[Any], token_id: int, headers: dict[str, str] | None = None) -> Any:
    return client.post(
        f"/profile/tokens/{token_id}/revoke",
        data={"_csrf_token": csrf(client)},
        headers=headers or {},
        follow_redirects=False,
    )


def token_names(html: str) -> list[str]:
    return [li.strong.get_text() for li in parse(html).select("#api-tokens li.token")]


def test_profile_offers_to_create_a_token(client: TestClient[Any], member: int) -> None:
    page = client.get("/profile/tokens").text
    form = one(page, "#api-tokens form[action='/profile/tokens']")
    assert form["method"] == "post"
    assert form["hx-post"] == "/profile/tokens"
    assert one(page, "#api-tokens input[name=_csrf_token]")
    assert one(page, "label[for=token-name]").get_text() == "Name of a new token"
    assert "No API tokens yet." in one(page, "#api-tokens").get_text()


def test_create_without_js_answers_with_the_page_showing_the_token_once(
    client: TestClient[Any], db: Session, member: int
) -> None:
    response = create(client, "CRM sync")
    assert response.status_code == 200  # not a 303: the token would wait in the session
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    token = one(page, "textarea#new-token").get_text()
    assert isinstance(token, str) and token.startswith("pps_")
    assert one(page, ".flash:not(.new-token)").get_text(strip=True) == "Token created."
    assert "not shown again" in one(page, ".new-token").get_text()
    copy = one(page, ".new-token button[data-copy=new-token]")  # shown where JS can copy
    assert copy.has_attr("hidden") and copy["aria-label"] == "Copy the token"
    assert one(page, "code#member-id").get_text() == str(member)  # the API's userId
    assert state(client, token, member).status_code == 200  # it works at once
    again = client.get("/profile/tokens").text
    assert parse(again).select("textarea#new-token") == []
    assert token not in again
    assert token_names(again) == ["CRM sync"]


def test_create_with_htmx_swaps_in_the_token(client: TestClient[Any], member: int) -> None:
    response = create(client, "Laptop script", HX)
    assert response.status_code == 200
    page = parse(response.text)
    assert page.select_one("html") is None
    assert one(response.text, "textarea#new-token").get_text()
    assert token_names(response.text) == ["Laptop script"]
    assert parse(client.get("/profile/tokens").text).select("textarea#new-token") == []


def test_list_shows_name_prefix_created_and_last_use(
    client: TestClient[Any], db: Session, member: int
) -> None:
    token = make_token(db, member, "Old one")
    item = one(client.get("/profile/tokens").text, "#api-tokens li.token")
    meta = item.select_one(".history-meta")
    assert meta is not None
    assert f"{token[:10]}…" in meta.get_text()
    assert "never used" in meta.get_text()
    assert item.select_one("time")
    state(client, token, member)
    meta = one(client.get("/profile/tokens").text, "#api-tokens li.token .history-meta")
    assert "last used" in meta.get_text()


def test_only_the_hash_is_stored(client: TestClient[Any], db: Session, member: int) -> None:
    token = one(create(client, "x").text, "textarea#new-token").get_text()
    row = db.exec(select(ApiToken)).one()
    assert row.token_hash != token and len(row.token_hash) == 64


def test_empty_name_gets_a_default(client: TestClient[Any], db: Session, member: int) -> None:
    create(client, "   ")
    assert db.exec(select(ApiToken.name)).one() == "API token"


def test_revoke_without_js_is_303_and_the_token_stops_working(
    client: TestClient[Any], db: Session, member: int
) -> None:
    token = make_token(db, member, "Doomed")
    row = db.exec(select(ApiToken)).one()
    response = revoke(client, row.id or 0)
    assert response.status_code == 303
    page = client.get("/profile/tokens").text
    assert "Doomed" in one(page, ".flash:not(.new-token)").get_text()
    assert token_names(page) == []
    assert state(client, token, member).status_code == 401


def test_revoke_with_htmx_swaps_the_list(client: TestClient[Any], db: Session, member: int) -> None:
    make_token(db, member, "Keep")
    make_token(db, member, "Drop")
    drop = db.exec(select(ApiToken).where(ApiToken.name == "Drop")).one()
    response = revoke(client, drop.id or 0, HX)
    assert response.status_code == 200
    assert token_names(response.text) == ["Keep"]


def test_revoke_button_is_labelled_with_the_token_name(
    client: TestClient[Any], db: Session, member: int
) -> None:
    make_token(db, member, "Phone")
    button = one(client.get("/profile/tokens").text, "#api-tokens li.token button")
    assert button["aria-label"] == "Revoke token Phone"


def test_revoking_another_members_token_is_404_and_it_keeps_working(
    client: TestClient[Any], db: Session, member: int
) -> None:
    bob = add_member(db, "bob", "Bob")
    bobs = make_token(db, bob)
    row = db.exec(select(ApiToken).where(ApiToken.user_id == bob)).one()
    response = revoke(client, row.id or 0, HX)
    assert response.status_code == 404
    assert "no such token" in one(response.text, ".flash").get_text()
    assert state(client, bobs, bob).status_code == 200


def test_create_and_revoke_are_audited(client: TestClient[Any], db: Session, member: int) -> None:
    create(client, "Audited")
    row = db.exec(select(ApiToken)).one()
    revoke(client, row.id or 0)
    actions = db.exec(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["token.create", "token.revoke"]


def test_anonymous_create_goes_to_login(client: TestClient[Any], db: Session, alice: int) -> None:
    response = create(client, "x")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    assert db.exec(select(ApiToken)).all() == []


def test_create_without_csrf_token_is_refused(
    client: TestClient[Any], db: Session, member: int
) -> None:
    response = client.post("/profile/tokens", data={"name": "x"}, follow_redirects=False)
    assert response.status_code == 403
    assert db.exec(select(ApiToken)).all() == []


def test_token_names_are_escaped(client: TestClient[Any], db: Session, member: int) -> None:
    make_token(db, member, "<script>alert(1)</script>")
    item = one(client.get("/profile/tokens").text, "#api-tokens li.token")
    assert item.select("script") == []
    assert item.strong is not None
    assert item.strong.get_text() == "<script>alert(1)</script>"
