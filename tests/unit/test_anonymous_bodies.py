"""A visitor's body is 64 KiB on every route, refused from its Content-Length before Litestar's
CSRF check parses it, and a visitor's post to an upload route is not read at all (sent to sign
in); a member's multipart upload keeps the upload cap; a url-encoded body is 64 KiB for everyone
(it is parsed whole, on the event loop).
(web/plumbing/body_limit.py; the timing against a real server: tests/e2e/test_http_limits.py.)"""

from __future__ import annotations

from typing import Any

import pytest
from httpx import Response
from litestar.testing import TestClient

from tests.conftest import log_in
from tests.factories import jpeg
from web.plumbing.body_limit import FORM_MAX_BYTES
from web.routes.auth import SIGNED_OUT

UPLOAD_ROUTES = ["/profile/picture", "/profile/picture/suggest-crop"]
OVER = FORM_MAX_BYTES + 1


def _urlencoded(
    client: TestClient[Any], path: str, size: int, headers: dict[str, str] | None = None
) -> int:
    body = b"a=" + b"b" * size
    sent = {"Content-Type": "application/x-www-form-urlencoded"} | (headers or {})
    return client.post(path, content=body, headers=sent, follow_redirects=False).status_code


def _visitors_posts(client: TestClient[Any], path: str, **headers: str) -> list[Response]:
    answers = []
    for size in (10, OVER, 20 * OVER):
        files = {"profilePicture": ("a.jpg", b"x" * size, "image/jpeg")}
        answers.append(client.post(path, files=files, headers=headers, follow_redirects=False))
        body = b"a=" + b"b" * size
        form = {"Content-Type": "application/x-www-form-urlencoded"} | headers
        answers.append(client.post(path, content=body, headers=form, follow_redirects=False))
    assert all(answer.headers["connection"] == "close" for answer in answers)  # unread
    return answers


def test_a_visitors_upload_is_sent_to_sign_in_unread(client: TestClient[Any]) -> None:
    """Signed out (or never in): not read at all, whatever its size; a browser goes to sign
    in, the page's script (htmx) hears 401 and keeps the chosen file."""
    for answer in _visitors_posts(client, "/profile/picture"):
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] == "/login?next=/profile"
    for answer in _visitors_posts(client, "/profile/picture", **{"HX-Request": "true"}):
        assert answer.status_code == 401
        assert answer.headers["hx-redirect"] == "/login?next=/profile"


def test_a_visitors_suggestion_is_401_json_unread(client: TestClient[Any]) -> None:
    for answer in _visitors_posts(client, "/profile/picture/suggest-crop"):
        assert answer.status_code == 401
        assert answer.json() == {"error": SIGNED_OUT, "signIn": "/login?next=/profile"}


@pytest.mark.parametrize("path", UPLOAD_ROUTES)
def test_a_members_url_encoded_body_past_64_kib_is_413(
    client: TestClient[Any], alice: int, path: str
) -> None:
    log_in(client, "alice")
    # htmx's post, answered in place (a plain form post is redirected: post/redirect/get)
    assert _urlencoded(client, path, OVER, {"HX-Request": "true"}) == 413


def test_a_members_multipart_upload_keeps_the_upload_cap(
    client: TestClient[Any], alice: int
) -> None:
    log_in(client, "alice")
    picture = jpeg() + b"\0" * (2 * FORM_MAX_BYTES)  # a JPEG with trailing bytes: still one
    files = {"profilePicture": ("a.jpg", picture, "image/jpeg")}
    csrf = client.cookies.get("csrftoken")
    response = client.post(
        "/profile/picture", files=files, data={"_csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
