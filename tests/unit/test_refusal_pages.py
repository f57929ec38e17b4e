"""Refusal pages are whole pages whose forms work: a valid CSRF token after 413 and 429 (htmx's
answer in place, a plain form's page after its redirect: post/redirect/get), and a page (not
JSON) for a stale token."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from sqlmodel import Session, select

from db.models import AuditLog
from tests.factories import jpeg
from tests.forms import HX, csrf, log_in, redirected
from tests.html import one, parse
from web.app import create_app
from web.settings import Settings

TOO_BIG = b"\xff\xd8\xff" + b"\0" * (11 * 1024 * 1024)


def post_upload(
    client: TestClient[Any], data: bytes, token: str, headers: dict[str, str] | None = None
) -> Any:
    return client.post(
        "/profile/picture",
        files={"profilePicture": ("me.jpg", data, "image/jpeg")},
        data={"_csrf_token": token},
        headers=headers or {},
        follow_redirects=False,
    )


def form_tokens(text: str) -> set[str]:
    return {str(field["value"]) for field in parse(text).select("input[name=_csrf_token]")}


def test_page_after_413_carries_the_cookies_csrf_token(client: TestClient[Any], alice: int) -> None:
    log_in(client, "alice")
    refused = post_upload(client, TOO_BIG, csrf(client), HX)
    assert refused.status_code == 413
    assert form_tokens(refused.text) == {client.cookies.get("csrftoken")}


def test_upload_again_with_the_413_pages_token_succeeds(
    client: TestClient[Any], alice: int
) -> None:
    log_in(client, "alice")
    for headers in (HX, {}):
        refused = post_upload(client, TOO_BIG, csrf(client), headers)
        page = refused if headers else redirected(client, refused)
        token = one(page.text, "#upload-form input[name=_csrf_token]")["value"]
        assert post_upload(client, jpeg(), str(token)).status_code == 303


def test_a_refusal_is_redirected_and_a_reload_posts_nothing(
    client: TestClient[Any], db: Session, alice: int
) -> None:
    log_in(client, "alice")
    refused = post_upload(client, b"<html>not a picture</html>", csrf(client))
    assert (refused.status_code, refused.headers["location"]) == (303, "/profile")
    shown = client.get("/profile")  # what the browser loads after the 303
    assert "not a picture we can use" in one(shown.text, "#upload-error").get_text()
    reloaded = client.get("/profile")  # a reload is this GET again: no form is posted
    assert reloaded.status_code == 200
    assert parse(reloaded.text).select("#upload-error") == []  # said once, then gone
    refusals = db.exec(select(AuditLog).where(AuditLog.action == "picture.upload")).all()
    assert len(refusals) == 1


def test_page_after_429_carries_a_working_csrf_token(settings: Settings, alice: int) -> None:
    app: Litestar = create_app(replace(settings, uploads_per_minute=1))
    with TestClient(app) as client:
        log_in(client, "alice")
        assert post_upload(client, jpeg(), csrf(client)).status_code == 303
        refused = post_upload(client, jpeg(), csrf(client), HX)
        assert refused.status_code == 429
        (token,) = form_tokens(refused.text)
        logout = client.post("/logout", data={"_csrf_token": token}, follow_redirects=False)
        assert logout.status_code in (302, 303)


def test_stale_csrf_token_is_a_403_page_not_json(client: TestClient[Any], alice: int) -> None:
    log_in(client, "alice")
    response = client.post(
        "/profile/picture/delete", data={"_csrf_token": "stale"}, follow_redirects=False
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert one(response.text, "h1").get_text() == "This form had expired"


def test_stale_csrf_page_carries_a_working_token(client: TestClient[Any], alice: int) -> None:
    log_in(client, "alice")
    response = client.post("/profile/picture/delete", data={"_csrf_token": "stale"})
    (token,) = form_tokens(response.text)
    logout = client.post("/logout", data={"_csrf_token": token}, follow_redirects=False)
    assert logout.status_code in (302, 303)


def test_csrf_refusal_without_a_cookie_sets_a_new_one(client: TestClient[Any]) -> None:
    response = client.post("/login", data={"handle": "a", "password": "b"})
    assert response.status_code == 403
    token = response.cookies.get("csrftoken")
    assert token and token in str(one(response.text, "body")["hx-headers:inherited"])
