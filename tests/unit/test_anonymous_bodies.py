"""A visitor's body is 64 KiB on every route, the upload routes included, refused from its
Content-Length before Litestar's CSRF check parses it; a member's multipart upload keeps the
upload cap; a url-encoded body is 64 KiB for everyone (it is parsed whole, on the event loop).
(web/plumbing/body_limit.py; the timing against a real server: tests/e2e/test_http_limits.py.)"""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from tests.conftest import log_in
from tests.factories import jpeg
from web.plumbing.body_limit import FORM_MAX_BYTES

UPLOAD_ROUTES = ["/profile/picture", "/profile/picture/suggest-crop"]
OVER = FORM_MAX_BYTES + 1


def _multipart(client: TestClient[Any], path: str, size: int) -> int:
    files = {"profilePicture": ("a.jpg", b"x" * size, "image/jpeg")}
    return client.post(path, files=files, follow_redirects=False).status_code


def _urlencoded(
    client: TestClient[Any], path: str, size: int, headers: dict[str, str] | None = None
) -> int:
    body = b"a=" + b"b" * size
    sent = {"Content-Type": "application/x-www-form-urlencoded"} | (headers or {})
    return client.post(path, content=body, headers=sent, follow_redirects=False).status_code


@pytest.mark.parametrize("path", UPLOAD_ROUTES)
def test_a_visitors_upload_past_64_kib_is_413(client: TestClient[Any], path: str) -> None:
    assert _multipart(client, path, OVER) == 413
    assert _urlencoded(client, path, OVER) == 413


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
