"""A burst of database reads against a real server: every answer is 200 and none hangs.

Issue 9: 32 or more concurrent reads of the uncached avatar fragment used to deadlock the
connection pool against the worker threads until the 30 s pool timeout. The bound here is on
hanging, not on speed: a healthy server answers this burst in well under a second.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.e2e.conftest import Member, Server
from tests.e2e.pages import sign_in
from tests.services import fresh_postgres_database

BURST = 64  # clients at once, each asking ROUNDS times in a row (as wrk does)
ROUNDS = 5
HANG_BOUND_S = 20.0


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The module's server on each database in turn."""
    if request.param == "sqlite":
        yield {}
        return
    with fresh_postgres_database() as url:
        yield {"DATABASE_URL": url}


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
        sign_in(client, handle)
        return client.cookies


def test_uncached_fragment_burst_all_answer_200(server: Server, alice: Member) -> None:
    statuses = burst(f"{server.url}/components/avatar/{alice.id}?size=sm")
    assert statuses == [200] * (BURST * ROUNDS)


def test_signed_in_page_burst_all_answer_200(server: Server, alice: Member) -> None:
    cookies = signed_in_cookies(server, alice.handle)
    statuses = burst(f"{server.url}/members", cookies)
    assert statuses == [200] * (BURST * ROUNDS)
