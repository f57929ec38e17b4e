"""The site's forms as a browser posts them (CSRF token, log in, uploads), for the unit tests'
test client."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from tests.factories import PASSWORD

HX = {"HX-Request": "true"}


def csrf(client: TestClient[Any]) -> str:
    """A CSRF token for form posts: fetch a page to get the cookie, echo it back."""
    client.get("/login")
    token = client.cookies.get("csrftoken")
    assert token
    return token


def log_in(client: TestClient[Any], handle: str, password: str = PASSWORD) -> None:
    response = client.post(
        "/login",
        data={"handle": handle, "password": password, "_csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def upload(
    client: TestClient[Any],
    data: bytes,
    name: str = "me.jpg",
    headers: dict[str, str] | None = None,
    **fields: str,
) -> Any:
    """The /profile upload form, as posted without JavaScript (or with htmx: `headers=HX`)."""
    return client.post(
        "/profile/picture",
        files={"profilePicture": (name, data, "image/jpeg")},
        data={"_csrf_token": csrf(client)} | fields,
        headers=headers or {},
        follow_redirects=False,
    )


def post(
    client: TestClient[Any], path: str, headers: dict[str, str] | None = None, **fields: str
) -> Any:
    """Any other form of the site: its fields and the CSRF token."""
    return client.post(
        path,
        data={"_csrf_token": csrf(client)} | fields,
        headers=headers or {},
        follow_redirects=False,
    )


def redirected(client: TestClient[Any], response: Any, to: str = "/profile") -> Any:
    """A plain form post's answer followed (post/redirect/get): the 303 to `to`, then the page
    it sends to, as the browser loads it."""
    assert response.status_code == 303, response.text
    assert response.headers["location"] == to
    return client.get(to)


def signed_in_cookies(app: Litestar, handle: str) -> dict[str, str]:
    """The cookies of `handle` signed in through the login form, for clients other than the
    test client (the SSE streams, an async client)."""
    with TestClient(app) as http:
        log_in(http, handle)
        return dict(http.cookies.items())


def cookie_header(cookies: dict[str, str]) -> str:
    """`cookies` as a Cookie header."""
    return "; ".join(f"{k}={v}" for k, v in cookies.items())
