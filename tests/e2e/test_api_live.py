"""The JSON API against a real server, watched by Chromium: an API change reaches open pages.

An integrator calls the API with httpx and a Bearer token (from `ppsync token add`, or created
on /profile in the browser); the member's open /profile and another member's /members page
show the new picture without a reload.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.conftest import ConsoleErrors, Member, Server
from tests.e2e.pages import api, card, signed_in
from tests.e2e.pages import api_upload as upload

pytestmark = pytest.mark.e2e


def api_upload(client: httpx.Client, user_id: int, colour: str) -> dict[str, Any]:
    return upload(client, user_id, colour, key=f"e2e-{colour}")


def profile_avatar(page: Page) -> Locator:
    return page.get_by_role("main").locator("[data-avatar-size=lg]")


def expect_picture(avatar: Locator, version: int, filename: object, px: int) -> None:
    expect(avatar).to_have_attribute("data-avatar-version", str(version))
    expect(avatar.locator("img")).to_have_attribute(
        "src", re.compile(rf"/{filename}-{px}\.(jpg|png)$")
    )


def watched(page: Page) -> Page:
    """A page that must not reload: the flag survives only an in-place update."""
    expect(page.locator("[data-live-sync]")).to_have_attribute("data-state", "live")
    page.evaluate("window.notReloaded = true")
    return page


@pytest.fixture
def profile(server: Server, browser: Browser, alice: Member, console_errors: ConsoleErrors) -> Page:
    return watched(signed_in(browser, server, alice.handle, console_errors))


@pytest.fixture
def directory(server: Server, browser: Browser, bob: Member, console_errors: ConsoleErrors) -> Page:
    return watched(signed_in(browser, server, bob.handle, console_errors, "/members"))


def test_api_upload_updates_the_members_open_pages_without_reload(
    server: Server,
    alice: Member,
    profile: Page,
    directory: Page,
    console_errors: ConsoleErrors,
) -> None:
    with api(server, server.token(alice.id, "e2e")) as client:
        uploaded = api_upload(client, alice.id, "red")

    expect_picture(profile_avatar(profile), 1, uploaded["filename"], 192)
    expect_picture(card(directory, alice.id), 1, uploaded["filename"], 96)
    for page in (profile, directory):
        assert page.evaluate("window.notReloaded") is True
    assert console_errors == []


def test_api_restore_and_delete_reach_an_open_page(
    server: Server, alice: Member, directory: Page, console_errors: ConsoleErrors
) -> None:
    with api(server, server.token(alice.id)) as client:
        first = api_upload(client, alice.id, "red")
        second = api_upload(client, alice.id, "blue")
        expect_picture(card(directory, alice.id), 2, second["filename"], 96)
        body = {
            "userId": alice.id,
            "profilePicture": first["filename"],
            "updatedAt": second["updatedAt"],
        }
        assert client.put("/api/profile/update-picture", json=body).status_code == 200
        expect_picture(card(directory, alice.id), 3, first["filename"], 96)
        gone = client.request("DELETE", "/api/profile/delete-picture", json={"userId": alice.id})
        assert gone.status_code == 200
        expect_picture(card(directory, alice.id), 4, second["filename"], 96)
    assert directory.evaluate("window.notReloaded") is True
    assert console_errors == []


def test_token_made_on_the_tokens_page_works_until_revoked(
    server: Server, alice: Member, profile: Page, console_errors: ConsoleErrors
) -> None:
    profile.get_by_role("link", name="API tokens").click()
    expect(profile).to_have_url(f"{server.url}/profile/tokens")
    watched(profile)
    profile.get_by_label("Name of a new token").fill("Browser-made")
    profile.get_by_role("button", name="Create token").click()
    token = profile.get_by_label("Your new token").input_value()
    assert token.startswith("pps_")

    with api(server, token) as client:
        uploaded = api_upload(client, alice.id, "green")
        header = profile.get_by_role("banner").locator("[data-avatar-size=xs]")
        expect_picture(header, 1, uploaded["filename"], 24)
        profile.get_by_role("button", name="Revoke token Browser-made").click()
        expect(profile.get_by_text("Token “Browser-made” revoked")).to_be_visible()
        refused = client.get(f"/api/profile/picture/{alice.id}")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
    assert profile.evaluate("window.notReloaded") is True
    assert console_errors == []


def test_the_member_id_and_a_new_token_copy_to_the_clipboard(
    server: Server, alice: Member, profile: Page, console_errors: ConsoleErrors
) -> None:
    profile.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    profile.goto(f"{server.url}/profile/tokens")
    expect(profile.locator("#member-id")).to_have_text(str(alice.id))
    profile.get_by_role("button", name="Copy your member id").click()
    expect(profile.get_by_role("button", name="Copy your member id")).to_have_text("Copied")
    assert profile.evaluate("navigator.clipboard.readText()") == str(alice.id)
    profile.get_by_label("Name of a new token").fill("Copied one")
    profile.get_by_role("button", name="Create token").click()  # swapped in by htmx
    token = profile.get_by_label("Your new token").input_value()
    profile.get_by_role("button", name="Copy the token").click()
    assert profile.evaluate("navigator.clipboard.readText()") == token
    assert console_errors == []
