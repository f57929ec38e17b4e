"""A burst of database reads against a real server: every answer is 200 and none hangs.

Issue 9: 32 or more concurrent reads of the uncached avatar fragment used to deadlock the
connection pool against the worker threads until the 30 s pool timeout. The bound here is on
hanging, not on speed: a healthy server answers this burst in well under a second.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server
from tests.factories import PASSWORD
from tests.services import fresh_postgres_database

BURST = 64  # clients at once, each asking ROUNDS times in a row (as wrk does)
ROUNDS = 5
HANG_BOUND_S = 20.0


@pytest.fixture(params=["sqlite", "postgresql"])
def burst_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    if request.param == "sqlite":
        running = Server(tmp_path).start()
        yield running
        running.stop()
        return
    with fresh_postgres_database() as url:
        running = Server(tmp_path, env={"DATABASE_URL": url}).start()
        yield running
        running.stop()


def burst(url: str, cookies: httpx.Cookies | None = None) -> list[int | str]:
    """BURST clients GET `url` ROUNDS times each, all at once: every answer's status, or the
    error that ended a client's rounds."""
    start = threading.Barrier(BURST)

    def client_rounds(_: int) -> list[int | str]:
        start.wait(timeout=HANG_BOUND_S)
        statuses: list[int | str] = []
        with httpx.Client(cookies=cookies, timeout=HANG_BOUND_S) as client:
            for _round in range(ROUNDS):
                try:
                    statuses.append(client.get(url).status_code)
                except httpx.HTTPError as error:
                    return [*statuses, type(error).__name__]
        return statuses

    with ThreadPoolExecutor(BURST) as pool:
        return [status for rounds in pool.map(client_rounds, range(BURST)) for status in rounds]


def signed_in_cookies(server: Server, handle: str) -> httpx.Cookies:
    with httpx.Client(base_url=server.url) as client:
        client.get("/login")
        token = client.cookies["csrftoken"]
        form = {"handle": handle, "password": PASSWORD, "_csrf_token": token}
        assert client.post("/login", data=form).status_code == 303
        return client.cookies


def test_uncached_fragment_burst_all_answer_200(burst_server: Server) -> None:
    member = burst_server.add_member("alice", "Alice Liddell")
    statuses = burst(f"{burst_server.url}/components/avatar/{member}?size=sm")
    assert statuses == [200] * (BURST * ROUNDS)


def test_signed_in_page_burst_all_answer_200(burst_server: Server) -> None:
    burst_server.add_member("alice", "Alice Liddell")
    cookies = signed_in_cookies(burst_server, "alice")
    statuses = burst(f"{burst_server.url}/members", cookies)
    assert statuses == [200] * (BURST * ROUNDS)
