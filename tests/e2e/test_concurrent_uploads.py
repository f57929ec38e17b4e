"""Concurrent uploads by one member against a real server: no 5xx, no lost or shared files.

These start `ppsync serve` in a subprocess (no browser): the races are between real requests.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import PPSYNC, Member, Server
from tests.factories import jpeg
from tests.services import fresh_postgres_database

UPLOADS = 24  # more than the pool (5 + 10) and the default executor (6 threads) hold
BUSY = {"UPLOADS_PER_MINUTE": "1000"}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The module's server on each database in turn, with the upload limit lifted."""
    if request.param == "sqlite":
        yield BUSY
        return
    with fresh_postgres_database() as url:
        yield BUSY | {"DATABASE_URL": url}


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
    server: Server, alice: Member
) -> None:
    user_id, token = alice.id, server.token(alice.id)
    started = time.monotonic()
    responses = concurrent_uploads(server, token, user_id, UPLOADS)
    elapsed = time.monotonic() - started
    statuses = sorted(r.status_code for r in responses)
    print(f"{UPLOADS} concurrent uploads: statuses {statuses} in {elapsed:.2f} s")
    assert all(status < 500 for status in statuses), [r.text for r in responses]
    created = sum(r.status_code == 201 for r in responses)
    kept = history(server, token, user_id)
    # Each 201 made its own version (the answer is the member's state after it, which a
    # concurrent upload that committed just after may already have moved on).
    assert sorted(e["version"] for e in kept) == list(range(1, created + 1))
    assert {r.json()["version"] for r in responses if r.status_code == 201} <= set(
        range(1, created + 1)
    )
    with httpx.Client(base_url=server.url) as client:
        for entry in kept:
            for url in variant_urls(entry):
                assert client.get(url).status_code == 200, url


def ppsync_status(server: Server, *args: str) -> tuple[int, str]:
    """A `ppsync` command's exit status and output (Server.ppsync insists on success)."""
    result = subprocess.run(
        [PPSYNC, *args], env=server.env, capture_output=True, text=True, timeout=120
    )
    return result.returncode, result.stdout + result.stderr


def test_kill_9_during_uploads_then_sweep_leaves_a_clean_check_and_every_acknowledged_upload(
    server_factory: Callable[..., Server],
) -> None:
    server = server_factory(BUSY)  # its own: killed
    try:
        user_id = server.add_member("alice")
        token = server.token(user_id)
        acknowledged: list[dict[str, Any]] = []
        cut_off: list[int] = []
        some_done = threading.Event()

        def one_upload(index: int) -> None:
            data = jpeg(("red", "green", "blue", "teal")[index % 4], (1600, 1200))
            try:
                with httpx.Client(base_url=server.url) as client:
                    response = upload(client, token, user_id, data)
            except httpx.ConnectError:
                return  # sent after the kill: never reached a server
            except httpx.HTTPError:
                cut_off.append(index)  # in flight when killed: not acknowledged
                return
            if response.status_code == 201:
                acknowledged.append(response.json())
            if len(acknowledged) >= 3:
                some_done.set()

        with ThreadPoolExecutor(12) as pool:
            for index in range(36):
                pool.submit(one_upload, index)
            assert some_done.wait(timeout=60)
            assert server.process is not None
            server.process.kill()  # SIGKILL with uploads in flight
            server.process.wait()
    finally:
        server.stop()
    status, swept = ppsync_status(server, "media", "sweep", "--grace", "0")
    assert status == 0, swept
    figures = f"{len(acknowledged)} acknowledged, {len(cut_off)} cut off"
    print(f"kill -9: {figures}; {swept.splitlines()[-1]}")
    assert cut_off  # the kill really hit uploads in flight
    status, output = ppsync_status(server, "check")
    assert status == 0, output
    assert " 0 orphans" in output.splitlines()[-1]
    media = server.var / "media"
    for answer in acknowledged:
        for url in variant_urls({"urls": answer["urls"]}):
            assert (media / url.removeprefix("/media/")).is_file(), url
