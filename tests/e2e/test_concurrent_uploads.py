"""Concurrent uploads by one member against a real server: no 5xx, no lost or shared files.

These start `ppsync serve` in a subprocess (no browser): the races are between real requests.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Server
from tests.factories import jpeg
from tests.services import fresh_postgres_database

UPLOADS = 6


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    if request.param == "sqlite":
        yield {}
        return
    with fresh_postgres_database() as url:
        yield {"DATABASE_URL": url}


@pytest.fixture
def busy_server(tmp_path: Path, database_env: dict[str, str]) -> Iterator[Server]:
    running = Server(tmp_path, database_env | {"UPLOADS_PER_MINUTE": "1000"}).start()
    yield running
    running.stop()


def member_with_token(server: Server, handle: str) -> tuple[int, str]:
    user_id = server.add_member(handle)
    return user_id, server.ppsync("token", "add", handle)


def upload(client: httpx.Client, token: str, user_id: int, data: bytes) -> httpx.Response:
    return client.post(
        "/api/profile/upload-picture",
        headers={"Authorization": f"Bearer {token}"},
        files={"profilePicture": ("me.jpg", data, "image/jpeg")},
        data={"userId": str(user_id)},
        timeout=60,
    )


def concurrent_uploads(server: Server, token: str, user_id: int, count: int) -> list[Any]:
    data = jpeg("teal", (640, 480))
    with httpx.Client(base_url=server.url) as client, ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: upload(client, token, user_id, data), range(count)))


def history(server: Server, token: str, user_id: int) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{server.url}/api/profile/picture/{user_id}/history",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    versions: list[dict[str, Any]] = response.json()["versions"]
    return versions


def variant_urls(entry: dict[str, Any]) -> set[str]:
    return {url for size in entry["urls"].values() for url in size.values()}


def test_concurrent_same_picture_uploads_get_distinct_versions_and_keep_files(
    busy_server: Server,
) -> None:
    user_id, token = member_with_token(busy_server, "alice")
    started = time.monotonic()
    responses = concurrent_uploads(busy_server, token, user_id, UPLOADS)
    elapsed = time.monotonic() - started
    statuses = sorted(r.status_code for r in responses)
    print(f"{UPLOADS} concurrent uploads: statuses {statuses} in {elapsed:.2f} s")
    assert all(status < 500 for status in statuses), [r.text for r in responses]
    versions = [r.json()["version"] for r in responses if r.status_code == 201]
    assert len(versions) == len(set(versions))
    kept = history(busy_server, token, user_id)
    assert sorted(e["version"] for e in kept) == sorted(versions)
    with httpx.Client(base_url=busy_server.url) as client:
        for entry in kept:
            for url in variant_urls(entry):
                assert client.get(url).status_code == 200, url
