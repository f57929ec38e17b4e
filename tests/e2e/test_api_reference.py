"""The API reference (/schema/reference, Swagger UI vendored) in real Chromium: the seed's five
endpoints with their examples and the Bearer scheme, a call tried from it with a real token,
and the ways to it: the profile page (with the member's id and a copy button), the footer; and a
new token shown whole on a phone.
"""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.conftest import ConsoleErrors, Member, Server
from tests.e2e.pages import signed_in

pytestmark = pytest.mark.e2e

SEED = [
    ("POST", "/api/profile/upload-picture"),
    ("GET", "/api/profile/picture/{userId}"),
    ("PUT", "/api/profile/update-picture"),
    ("DELETE", "/api/profile/delete-picture"),
    ("POST", "/api/profile/sync-picture"),
]
PHONE = {"width": 390, "height": 844}


def operation(page: Page, method: str, path: str) -> Locator:
    """An operation's block in the reference, by its method and exact path."""
    summary = page.locator(".opblock-summary").filter(
        has=page.locator(".opblock-summary-method", has_text=method)
    )
    return summary.filter(has=page.locator(f'.opblock-summary-path[data-path="{path}"]'))


def reference(browser: Browser, server: Server, errors: ConsoleErrors, **context: object) -> Page:
    page = errors.watch(browser.new_context(**context).new_page())
    page.goto(f"{server.url}/schema/reference")
    return page


def test_the_reference_shows_the_five_seed_endpoints_and_the_bearer_scheme(
    server: Server, browser: Browser, console_errors: ConsoleErrors
) -> None:
    page = reference(browser, server, console_errors)
    expect(page.get_by_role("heading", name="API reference", level=1)).to_be_visible()
    for method, path in SEED:
        expect(operation(page, method, path)).to_be_visible()
    page.get_by_role("button", name="Authorize").first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("BearerToken")).to_be_visible()
    expect(dialog.get_by_text("(http, Bearer)")).to_be_visible()
    expect(dialog).to_contain_text("Authorization: Bearer <token>")
    assert console_errors == []


def test_each_seed_endpoint_shows_a_curl_line_and_an_example_answer(
    server: Server, browser: Browser, console_errors: ConsoleErrors
) -> None:
    page = reference(browser, server, console_errors)
    for method, path in SEED:
        operation(page, method, path).click()
        block = page.locator(".opblock.is-open")
        expect(block.locator(".opblock-description-wrapper").first).to_contain_text(
            'curl -H "Authorization: Bearer $TOKEN"'
        )
        expect(block.locator(".responses-wrapper")).to_contain_text('"userId": "5"')
        operation(page, method, path).click()  # closed again
        expect(page.locator(".opblock.is-open")).to_have_count(0)
    get_picture = operation(page, "GET", "/api/profile/picture/{userId}")
    get_picture.click()
    examples = page.locator(".opblock.is-open").get_by_label("Example")
    expect(examples.locator("option")).to_have_text(["A picture", "No picture: the default avatar"])
    assert console_errors == []


def test_a_call_tried_from_the_reference_answers_with_a_real_token(
    server: Server, browser: Browser, alice: Member, console_errors: ConsoleErrors
) -> None:
    token = server.token(alice.id, "reference")
    page = reference(browser, server, console_errors)
    page.get_by_role("button", name="Authorize").first.click()
    page.get_by_role("dialog").get_by_label("Bearer token").fill(token)
    page.get_by_role("dialog").get_by_role("button", name="Apply credentials").click()
    page.get_by_role("dialog").get_by_role("button", name="Close", exact=True).click()
    operation(page, "GET", "/api/profile/picture/{userId}").click()
    block = page.locator(".opblock.is-open")
    block.get_by_role("button", name="Try it out").click()
    block.get_by_placeholder("userId").fill(str(alice.id))
    block.get_by_role("button", name="Execute").click()
    live = block.locator(".live-responses-table .response")
    expect(live.locator(".response-col_status")).to_contain_text("200")
    body = json.loads(live.locator(".microlight").first.inner_text())
    assert body["userId"] == str(alice.id) and body["version"] is None
    assert console_errors == []


def test_the_profile_shows_the_member_id_with_a_copy_button_and_links_the_reference(
    server: Server, browser: Browser, alice: Member, console_errors: ConsoleErrors
) -> None:
    page = signed_in(browser, server, alice.handle, console_errors)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page.reload()
    expect(page.locator("#member-id")).to_have_text(str(alice.id))
    page.get_by_role("button", name="Copy your member id").click()
    expect(page.get_by_role("button", name="Copy your member id")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == str(alice.id)
    page.get_by_role("main").get_by_role("link", name="API reference").click()
    expect(page).to_have_url(f"{server.url}/schema/reference")
    expect(operation(page, "POST", "/api/profile/upload-picture")).to_be_visible()
    assert console_errors == []
    page.get_by_role("contentinfo").get_by_role("link", name="OpenAPI document (JSON)").click()
    assert json.loads(page.locator("body").inner_text())["openapi"].startswith("3.")


def test_the_footer_of_every_page_leads_to_the_reference_on_a_phone(
    server: Server, browser: Browser, console_errors: ConsoleErrors
) -> None:
    page = console_errors.watch(browser.new_context(viewport=PHONE).new_page())
    for path in ("/", "/login", "/members"):
        page.goto(server.url + path)
        page.get_by_role("contentinfo").get_by_role("link", name="API reference").click()
        expect(page).to_have_url(f"{server.url}/schema/reference")
        expect(operation(page, "PUT", "/api/profile/update-picture")).to_be_visible()
    assert console_errors == []


def test_a_new_token_shows_whole_and_wraps_on_a_phone(
    server: Server, browser: Browser, alice: Member, console_errors: ConsoleErrors
) -> None:
    page = signed_in(
        browser, server, alice.handle, console_errors, "/profile/tokens", viewport=PHONE
    )
    page.get_by_label("Name of a new token").fill("On my phone")
    page.get_by_role("button", name="Create token").click()
    field = page.get_by_label("Your new token")
    token = field.input_value()
    assert token.startswith("pps_") and len(token) > 40
    sizes = field.evaluate(
        "el => [el.scrollWidth, el.clientWidth, el.scrollHeight, el.clientHeight,"
        " el.getBoundingClientRect().right]"
    )
    assert sizes[0] <= sizes[1] and sizes[2] <= sizes[3], sizes  # nothing cut off or scrolled
    assert sizes[4] <= PHONE["width"], sizes
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = field.bounding_box()
    assert box is not None and box["height"] > 50  # two lines: wrapped, not one cut line
    assert console_errors == []
