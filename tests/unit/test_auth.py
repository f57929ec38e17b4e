"""Sign up, log in, log out, CSRF and sessions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import event
from sqlmodel import Session, select

from db.models import WebSession
from tests.factories import PASSWORD
from tests.forms import csrf, log_in
from tests.html import one, parse
from web.app import create_app
from web.plumbing.session_store import stored_key
from web.settings import Settings


def signup(client: TestClient[Any], **fields: str) -> Any:
    form = {"handle": "dora", "display_name": "Dora Maar", "password": PASSWORD} | fields
    return client.post("/signup", data=form | {"_csrf_token": csrf(client)}, follow_redirects=False)


def test_signup_signs_in_and_redirects_to_profile(client: TestClient[Any]) -> None:
    response = signup(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/profile"
    profile = client.get("/profile")
    assert profile.status_code == 200
    header_avatar = one(profile.text, "header [data-user-id]")
    assert header_avatar["aria-label"] == "Dora Maar"
    assert one(profile.text, ".flash").get_text(strip=True) == "Welcome, Dora Maar!"


def test_signup_with_taken_handle_reshows_form_with_message(
    client: TestClient[Any], alice: int
) -> None:
    response = signup(client, handle="Alice")
    assert response.status_code == 400
    assert "taken" in one(response.text, "#handle-error").get_text()
    assert one(response.text, "input#handle")["aria-invalid"] == "true"
    assert one(response.text, "input#display_name")["value"] == "Dora Maar"


def test_signup_with_short_password_names_the_minimum(client: TestClient[Any]) -> None:
    response = signup(client, password="short")
    assert response.status_code == 400
    assert "at least 10 characters" in one(response.text, "#password-error").get_text()


@pytest.mark.parametrize("handle", ["ab", "has space", "-dash", "x" * 31, "émile"])
def test_signup_with_malformed_handle_is_refused(client: TestClient[Any], handle: str) -> None:
    response = signup(client, handle=handle)
    assert response.status_code == 400
    assert one(response.text, "#handle-error")


def test_form_post_without_csrf_token_is_403(client: TestClient[Any]) -> None:
    client.get("/signup")
    form = {"handle": "dora", "display_name": "Dora", "password": PASSWORD}
    response = client.post("/signup", data=form, follow_redirects=False)
    assert response.status_code == 403
    assert client.get("/members/dora").status_code == 404


def test_form_post_with_forged_csrf_token_is_403(client: TestClient[Any]) -> None:
    client.get("/signup")
    form = {"handle": "dora", "password": PASSWORD, "_csrf_token": "forged"}
    assert client.post("/signup", data=form).status_code == 403


def test_htmx_post_may_send_csrf_token_as_header(client: TestClient[Any]) -> None:
    token = csrf(client)
    response = client.post(
        "/signup",
        data={"handle": "dora", "password": PASSWORD},
        headers={"x-csrftoken": token, "HX-Request": "true"},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_login_with_wrong_password_is_401_and_keeps_handle(
    client: TestClient[Any], alice: int
) -> None:
    form = {"handle": "alice", "password": "wrong password!", "_csrf_token": csrf(client)}
    response = client.post("/login", data=form)
    assert response.status_code == 401
    assert one(response.text, "[role=alert]").get_text().startswith("That handle and password")
    assert one(response.text, "input#handle")["value"] == "alice"
    assert client.get("/profile", follow_redirects=False).status_code == 303


def test_login_with_unknown_handle_gives_the_same_answer(client: TestClient[Any]) -> None:
    form = {"handle": "nobody", "password": PASSWORD, "_csrf_token": csrf(client)}
    response = client.post("/login", data=form)
    assert response.status_code == 401
    assert one(response.text, "[role=alert]").get_text().startswith("That handle and password")


def test_login_follows_a_local_next_only(client: TestClient[Any], alice: int) -> None:
    for target, expected in [("/members/alice", "/members/alice"), ("//evil.test", "/profile")]:
        client.cookies.clear()
        form = {"handle": "alice", "password": PASSWORD, "next": target}
        response = client.post(
            "/login", data=form | {"_csrf_token": csrf(client)}, follow_redirects=False
        )
        assert response.headers["location"] == expected


def test_login_gives_a_new_session_id(client: TestClient[Any], alice: int) -> None:
    token = csrf(client)
    planted = "a" * 64  # a session id an attacker set in the victim's browser
    form = {"handle": "alice", "password": PASSWORD, "_csrf_token": token}
    client.cookies.clear()
    cookie = f"csrftoken={token}; session={planted}"
    response = client.post("/login", data=form, headers={"cookie": cookie}, follow_redirects=False)
    issued = response.cookies.get("session")
    assert issued not in (None, planted)
    assert client.get("/profile").status_code == 200


def test_anonymous_pages_open_no_session(client: TestClient[Any], alice: int) -> None:
    for path in ("/members", "/members/alice", "/login", "/signup"):
        response = client.get(path)
        assert "session=" not in response.headers.get("set-cookie", ""), path


def test_logout_ends_the_session(client: TestClient[Any], alice: int) -> None:
    log_in(client, "alice")
    response = client.post("/logout", data={"_csrf_token": csrf(client)}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/profile", follow_redirects=False).headers["location"].startswith("/login")


def test_header_shows_login_links_when_signed_out(client: TestClient[Any]) -> None:
    links = {a.get_text() for a in parse(client.get("/members").text).select("header a")}
    assert {"Log in", "Sign up"} <= links


def stored_session_keys(db: Session) -> set[str]:
    db.expire_all()
    return set(db.exec(select(WebSession.key)))


def keys_of(*session_ids: str) -> set[str]:
    """The stored keys of these session ids: their hashes, never the ids."""
    return {stored_key("sessions", session_id) for session_id in session_ids}


def test_anonymous_requests_store_no_session_row(
    client: TestClient[Any], db: Session, alice: int
) -> None:
    for path in ("/members", "/members/alice", "/login", "/signup", "/profile"):
        client.get(path)
    assert stored_session_keys(db) == set()


def test_login_stores_the_session_in_the_database(
    client: TestClient[Any], db: Session, alice: int
) -> None:
    log_in(client, "alice")
    assert stored_session_keys(db) == keys_of(client.cookies["session"])


def test_login_again_drops_the_old_session_row(
    client: TestClient[Any], db: Session, alice: int
) -> None:
    log_in(client, "alice")
    first = client.cookies["session"]
    log_in(client, "alice")
    assert client.cookies["session"] != first
    assert stored_session_keys(db) == keys_of(client.cookies["session"])


def test_logout_deletes_the_session_row(client: TestClient[Any], db: Session, alice: int) -> None:
    log_in(client, "alice")
    client.post("/logout", data={"_csrf_token": csrf(client)})
    assert stored_session_keys(db) == set()


@contextmanager
def session_statements(app: Litestar) -> Iterator[list[str]]:
    """The SQL statements on web_sessions run meanwhile."""
    statements: list[str] = []

    def keep(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "web_sessions" in statement:
            statements.append(statement.lstrip().split()[0].upper())

    event.listen(app.state["engine"], "before_cursor_execute", keep)
    try:
        yield statements
    finally:
        event.remove(app.state["engine"], "before_cursor_execute", keep)


def test_signed_in_page_views_read_the_session_and_do_not_rewrite_it(
    client: TestClient[Any], app: Litestar, alice: int
) -> None:
    log_in(client, "alice")
    client.get("/profile")  # shows (and so clears) the sign-in flash: that one is a write
    with session_statements(app) as statements:
        pages = [client.get(path).status_code for path in ("/profile", "/members", "/profile")]
    assert pages == [200, 200, 200]
    assert statements == ["SELECT"] * 3


def test_fragments_and_assets_of_a_signed_in_tab_read_no_session(
    client: TestClient[Any], app: Litestar, alice: int
) -> None:
    log_in(client, "alice")
    with session_statements(app) as statements:
        fragment = client.get(f"/components/avatar/{alice}?size=sm")
        asset = client.get("/static/css/app.css")
    assert (fragment.status_code, asset.status_code) == (200, 200)
    assert "session=" not in fragment.headers.get("set-cookie", "")
    assert statements == []


def test_sign_in_survives_an_app_restart(settings: Settings, app: Litestar, alice: int) -> None:
    with TestClient(app) as before:
        log_in(before, "alice")
        cookie = before.cookies["session"]
    with TestClient(create_app(settings), cookies={"session": cookie}) as after:
        response = after.get("/profile", follow_redirects=False)
    assert response.status_code == 200
    assert one(response.text, "header [data-user-id]")["aria-label"] == "Alice Liddell"


def test_the_sessions_table_keeps_no_session_id(
    client: TestClient[Any], db: Session, alice: int
) -> None:
    log_in(client, "alice")
    session_id = client.cookies["session"]
    stored = stored_session_keys(db)
    assert len(stored) == 1
    assert not any(session_id in key for key in stored)
    # The table's key alone opens nothing: sent as a cookie, it is no session.
    planted = stored.pop().removeprefix("sessions:")
    client.cookies.clear()
    client.cookies.set("session", planted)
    assert client.get("/profile", follow_redirects=False).status_code == 303
