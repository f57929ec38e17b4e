"""Redis killed under a running app: members stay signed in, uploads keep working, rate limits
hold in memory, and Redis counts again once it is back.

Live events over Redis are left out here (their channels run in memory): their own outage and
recovery are tested with the live-sync tests.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlmodel import Session

from tests import api_support
from tests.conftest import Migrate
from tests.factories import add_member, jpeg
from tests.forms import HX, log_in, upload
from tests.html import one
from tests.private_redis import PrivateRedis
from tests.services import fresh_redis_prefix
from web.app import create_app
from web.plumbing.fallback_store import FallbackStore
from web.plumbing.stores import REDIS_TIMEOUT
from web.plumbing.throttle import key_of, uploads_per_member
from web.settings import Settings

LIMIT = 3


@pytest.fixture
def outage(settings: Settings, redis_server: PrivateRedis, migrated: Migrate) -> Iterator[Any]:
    """A signed-in alice, her API token, the private Redis and the app's rate-limit store."""
    migrated(settings.database_url)
    prefix = fresh_redis_prefix()
    app = create_app(
        replace(settings, redis_url=redis_server.url, redis_prefix=prefix, uploads_per_minute=LIMIT)
    )
    with Session(app.state["engine"]) as db:
        alice = add_member(db, "alice", "Alice Liddell")
        token = api_support.make_token(db, alice)
    rate = app.stores.get("rate_limit")
    assert isinstance(rate, FallbackStore)
    rate.retry_after = 0  # probe Redis on every call: the test sees recovery at once
    with TestClient(app) as client:
        log_in(client, "alice")
        yield client, alice, token, rate, prefix


def rate_keys(server: PrivateRedis, prefix: str) -> list[str]:
    """The upload counters (the login's counters are there too, since alice logged in)."""
    with server.client() as client:
        return sorted(key.decode() for key in client.keys(f"{prefix}_rate:uploads:*"))


def member_key(prefix: str, user_id: int) -> str:
    return f"{prefix}_rate:{key_of(uploads_per_member(1), (f'member:{user_id}',))}"


def test_uploads_are_counted_in_redis_while_it_answers(
    outage: Any, redis_server: PrivateRedis
) -> None:
    client, alice, _token, rate, prefix = outage
    assert upload(client, jpeg("red")).status_code == 303
    assert rate_keys(redis_server, prefix) == [member_key(prefix, alice)]
    assert not rate.using_fallback


def test_signed_in_pages_answer_while_redis_is_down(
    outage: Any, redis_server: PrivateRedis
) -> None:
    client, *_ = outage
    redis_server.kill()
    response = client.get("/profile", follow_redirects=False)
    assert response.status_code == 200
    assert one(response.text, "header [data-user-id]")["aria-label"] == "Alice Liddell"


def test_form_and_api_uploads_work_while_redis_is_down(
    outage: Any, redis_server: PrivateRedis
) -> None:
    client, alice, token, rate, _prefix = outage
    redis_server.kill()
    assert upload(client, jpeg("red")).status_code == 303
    assert api_support.upload(client, token, alice, jpeg("blue")).status_code == 201
    assert rate.using_fallback


def sent(client: Any, colour: str) -> int:
    """An upload as htmx posts it: answered with its status (a plain form post gets a 303)."""
    return int(upload(client, jpeg(colour), headers=HX).status_code)


def test_rate_limit_holds_in_memory_while_redis_is_down(
    outage: Any, redis_server: PrivateRedis
) -> None:
    client, *_ = outage
    redis_server.kill()
    assert [sent(client, colour) for colour in ("red", "blue", "lime")] == [200] * LIMIT
    assert sent(client, "navy") == 429


def test_rate_limit_counts_in_redis_again_once_it_is_back(
    outage: Any, redis_server: PrivateRedis
) -> None:
    client, alice, _token, rate, prefix = outage
    redis_server.kill()
    for colour in ("red", "blue", "lime"):
        sent(client, colour)
    assert sent(client, "navy") == 429  # from the memory counters
    redis_server.start()  # empty: nothing was kept on disk
    assert sent(client, "teal") == 200  # Redis's fresh count, not memory's
    assert not rate.using_fallback
    assert rate_keys(redis_server, prefix) == [member_key(prefix, alice)]
    assert [sent(client, c) for c in ("olive", "maroon")] == [200, 200]
    assert sent(client, "purple") == 429


@pytest.fixture
def silent_redis() -> Iterator[str]:
    """A port that accepts connections and never answers: a Redis behind a blackhole."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_an_unanswering_redis_costs_one_short_wait_then_none(
    settings: Settings, silent_redis: str, anyio_backend: str
) -> None:
    app = create_app(replace(settings, redis_url=silent_redis))
    rate = app.stores.get("rate_limit")
    assert isinstance(rate, FallbackStore)
    started = time.perf_counter()
    assert await rate.get("k") is None  # tries Redis, times out, memory answers
    first = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(100):
        await rate.get("k")  # within retry_after: memory alone
    rest = time.perf_counter() - started
    assert rate.using_fallback
    assert first < 2 * REDIS_TIMEOUT + 0.2, first
    assert rest < 0.1, rest
