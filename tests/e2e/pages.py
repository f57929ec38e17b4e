"""What the e2e tests do as members do it: in a Chromium page, or through the JSON API."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import Browser, FilePayload, Locator, Page, expect

from tests.e2e.conftest import ConsoleErrors, Server
from tests.factories import PASSWORD, jpeg


def log_in(page: Page, server: Server, handle: str) -> None:
    page.goto(f"{server.url}/login")
    page.get_by_label("Handle").fill(handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server.url}/profile")


def signed_in(
    browser: Browser,
    server: Server,
    handle: str,
    errors: ConsoleErrors | None = None,
    path: str = "/profile",
    **context: Any,
) -> Page:
    """A page in a new browser context (`context`: its options), signed in, at `path`."""
    page = browser.new_context(**context).new_page()
    if errors is not None:
        errors.watch(page)
    log_in(page, server, handle)
    if path != "/profile":
        page.goto(f"{server.url}{path}")
    return page


def picture(colour: str, size: tuple[int, int] = (640, 480), name: str = "") -> FilePayload:
    """A JPEG as a file input takes it."""
    data = jpeg(colour, size)
    return {"name": name or f"{colour}.jpg", "mimeType": "image/jpeg", "buffer": data}


def upload(page: Page, file: FilePayload) -> None:
    """Choose `file` in the profile's upload form and send it."""
    page.get_by_label("New picture").set_input_files(file)
    page.get_by_role("button", name="Upload", exact=True).click()


def upload_version(page: Page, colour: str, version: int) -> None:
    """Upload a `colour` picture through the form; wait for "Version N uploaded."."""
    upload(page, picture(colour, (320, 240)))
    expect(page.get_by_text(f"Version {version} uploaded.")).to_be_visible()


def row(page: Page, version: int) -> Locator:
    """A version's row in /profile's history."""
    title = page.get_by_text(f"Version {version}", exact=True)
    return page.locator("#history .history-item").filter(has=title)


def big_avatar(page: Page) -> Locator:
    """/profile's own large avatar."""
    return page.locator("#profile-main [data-avatar-size=lg]")


def header_avatar(page: Page) -> Locator:
    """The signed-in member's avatar in the page's header."""
    return page.get_by_role("banner").locator("[data-user-id]")


def card(page: Page, user_id: int) -> Locator:
    """A member's card in the directory."""
    return page.get_by_role("list", name="Members").locator(f'[data-user-id="{user_id}"]')


def expect_picture(avatar: Locator, version: int, px: int, timeout_ms: float = 5_000) -> None:
    """The avatar shows picture `version`, at its own size (within `timeout_ms`)."""
    expect(avatar).to_have_attribute("data-avatar-version", str(version), timeout=timeout_ms)
    expect(avatar.locator("img")).to_have_attribute("src", re.compile(rf"-{px}\.(jpg|png)$"))


def expect_live(page: Page) -> None:
    expect(page.locator("[data-live-sync]")).to_have_attribute("data-state", "live")


def sign_in(client: httpx.Client, handle: str) -> None:
    """Log `client` (an httpx client of a server) in through the login form, as a browser."""
    client.get("/login")
    form = {"handle": handle, "password": PASSWORD, "_csrf_token": client.cookies["csrftoken"]}
    response = client.post("/login", data=form)
    assert response.status_code == 303, response.text


def api(server: Server, token: str) -> httpx.Client:
    """An API client of the server, acting with `token`."""
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def api_upload(
    client: httpx.Client,
    user_id: int,
    colour: str,
    *,
    size: tuple[int, int] = (320, 240),
    key: str | None = None,
) -> dict[str, Any]:
    """POST /api/profile/upload-picture (with `key` as its Idempotency-Key): the 201's body."""
    response = client.post(
        "/api/profile/upload-picture",
        files={"profilePicture": (f"{colour}.jpg", jpeg(colour, size), "image/jpeg")},
        data={"userId": str(user_id)},
        headers={"Idempotency-Key": key} if key else {},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def delete_picture(client: httpx.Client, user_id: int) -> dict[str, Any]:
    response = client.request("DELETE", "/api/profile/delete-picture", json={"userId": user_id})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
