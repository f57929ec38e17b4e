"""The read cache across processes (web/caches/reads.py), with no Redis: two real servers on one
database. The process that makes a change answers from the database's new state at once; the
other one within the feed's CATCH_UP_SECONDS, and never a deleted picture after that."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server, two_servers
from tests.e2e.pages import api, api_upload, delete_picture
from web.live.feed import CATCH_UP_SECONDS

SLACK = 5.0  # seconds past CATCH_UP_SECONDS for a loaded machine; a hang bound, not a timing


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    with two_servers(tmp_path, env) as pair:
        yield pair


def status_within(url: str, wanted: int, seconds: float) -> int:
    """GET `url` until it answers `wanted` or `seconds` pass; the last status."""
    deadline = time.monotonic() + seconds
    while (status := httpx.get(url, timeout=10).status_code) != wanted:
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return status


def test_a_deletion_on_one_process_stops_the_other_serving_the_picture(
    servers: tuple[Server, Server],
) -> None:
    first, second = servers
    alice = first.add_member("alice", "Alice Liddell")
    token = first.token(alice)
    with api(first, token) as client:
        urls = api_upload(client, alice, "red", size=(64, 48))["urls"]
        media = urls["sm"]["webp1x"].removeprefix(first.url)
        fragment = f"/components/avatar/{alice}?size=sm"
        for server in (first, second):  # both processes now hold alice in their read caches
            assert httpx.get(server.url + media).status_code == 200
        cached_etag = httpx.get(second.url + fragment).headers["etag"]
        deleted = delete_picture(client, alice)
    assert httpx.get(first.url + media).status_code == 410  # the changing process: at once
    assert status_within(second.url + media, 410, CATCH_UP_SECONDS + SLACK) == 410
    now = httpx.get(second.url + fragment, headers={"If-None-Match": cached_etag})
    assert now.status_code == 200
    assert now.headers["etag"] == f'"a{alice}-v{deleted["pictureVersion"]}-sm"'
