"""Two app processes, each with its own empty MEDIA_ROOT, sharing PostgreSQL, Redis and one S3
bucket (SeaweedFS, tests/seaweed.py): what one stores, the other serves, and its open tabs
update live."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Response, expect

from tests.e2e.conftest import ConsoleErrors, Server, running
from tests.e2e.pages import card, expect_live, expect_picture, signed_in
from tests.e2e.pages import upload_version as upload
from tests.seaweed import S3Server
from tests.services import fresh_postgres_database, fresh_redis_prefix, redis_url

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def hosts(tmp_path: Path, s3_server: S3Server) -> Iterator[tuple[Server, Server]]:
    """Two servers as two hosts would run them: the same services, nothing on a shared disk."""
    redis = redis_url()
    with fresh_postgres_database() as database:
        shared = {
            "DATABASE_URL": database,
            "REDIS_URL": redis,
            "REDIS_PREFIX": fresh_redis_prefix(),
            "MEDIA_STORE": f"s3://{s3_server.new_bucket()}/site",
        } | s3_server.env()
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        with (
            running(tmp_path / "a", shared | {"MEDIA_ROOT": str(tmp_path / "a" / "media")}) as a,
            running(tmp_path / "b", shared | {"MEDIA_ROOT": str(tmp_path / "b" / "media")}) as b,
        ):
            yield a, b


def files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def test_upload_through_one_host_is_served_by_the_other_and_its_tab_updates_live(
    tmp_path: Path,
    browser: Browser,
    hosts: tuple[Server, Server],
    console_errors: ConsoleErrors,
) -> None:
    first, second = hosts
    alice = first.add_member("alice", "Alice Liddell")
    first.add_member("bob", "Bob Marley")
    bobs = signed_in(browser, second, "bob", console_errors, "/members")
    expect_live(bobs)
    pictures: list[Response] = []
    bobs.on("response", lambda r: pictures.append(r) if "/media/avatars/" in r.url else None)

    upload(signed_in(browser, first, "alice", console_errors), "red", 1)

    avatar = card(bobs, alice)
    expect_picture(avatar, 1, 96)
    expect(avatar.locator("img")).to_have_js_property("complete", True)
    assert avatar.locator("img").evaluate("img => img.naturalWidth") > 0
    assert pictures, "the tab on the second host fetched no picture"
    assert all(r.url.startswith(second.url) and r.status == 200 for r in pictures)
    src = avatar.locator("img").get_attribute("src")
    with urllib.request.urlopen(f"{second.url}{src}", timeout=5) as served:
        assert served.status == 200
    assert files_under(tmp_path / "a" / "media") == []
    assert files_under(tmp_path / "b" / "media") == []
    assert console_errors == []
