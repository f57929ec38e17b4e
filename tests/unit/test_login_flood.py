"""The password-hashing queue (issue 21): a fixed pool with a short queue and a share per address,
so one address flooding the login form is refused past its share and cannot slow another's login.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

import anyio
import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from db import migrate
from tests.factories import PASSWORD
from tests.forms import csrf
from tests.html import one
from web.app import create_app
from web.services.accounts import passwords
from web.services.accounts.hashing import HashingBusy, HashQueue
from web.settings import Settings

HASH_SECONDS = 0.25  # what one Argon2id check costs on a quiet core here
ATTACKER, MEMBER = "203.0.113.1", "198.51.100.7"


@pytest.fixture
def proxied_app(settings: Settings) -> Litestar:
    """An app whose peer (httpx's ASGI transport: 127.0.0.1) is a trusted proxy, so
    X-Forwarded-For names the client, and with two hashing threads whatever the machine."""
    migrate.upgrade(settings.database_url)
    trusted = Settings.from_env({"TRUSTED_PROXIES": "127.0.0.1", "SECRET_KEY": "k" * 40})
    app = create_app(replace(settings, trusted_proxies=trusted.trusted_proxies))
    app.state["hashing"] = HashQueue(2)
    return app


@pytest.fixture
def hash_takes_its_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every check holds its thread at least HASH_SECONDS, as the real Argon2id does here,
    whatever hasher the tests are given."""
    real = passwords.verify_password

    def at_least(password_hash: str, password: str) -> bool:
        started = time.monotonic()
        try:
            return real(password_hash, password)
        finally:
            time.sleep(max(0.0, HASH_SECONDS - (time.monotonic() - started)))

    passwords.dummy_hash()  # made once, before the clock starts
    monkeypatch.setattr(passwords, "verify_password", at_least)


async def _post_login(client: httpx.AsyncClient, handle: str, password: str, address: str) -> Any:
    form = {"handle": handle, "password": password, "_csrf_token": client.cookies["csrftoken"]}
    return await client.post("/login", data=form, headers={"X-Forwarded-For": address})


@pytest.mark.anyio
@pytest.mark.usefixtures("hash_takes_its_time")
async def test_a_flood_from_one_address_is_429_and_another_address_logs_in_within_a_second(
    proxied_app: Litestar, alice: int
) -> None:
    queue: HashQueue = proxied_app.state["hashing"]
    transport = httpx.ASGITransport(app=proxied_app)
    async with (
        proxied_app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        await client.get("/login")
        started = time.monotonic()
        assert (await _post_login(client, "alice", PASSWORD, MEMBER)).status_code == 303
        quiet = time.monotonic() - started
        flood = asyncio.gather(
            *(_post_login(client, f"handle-{n}", "wrong", ATTACKER) for n in range(60))
        )
        with anyio.fail_after(10):  # the flood has begun hashing
            while ATTACKER not in queue.held:
                await anyio.sleep(0.005)
        started = time.monotonic()
        member = await _post_login(client, "alice", PASSWORD, MEMBER)
        took = time.monotonic() - started
        answers = await flood
    statuses = [answer.status_code for answer in answers]
    assert member.status_code == 303
    # Unbounded, it waited for thirty hashes (60 on two threads); now for none or one, and for
    # the loop to refuse the rest. Slack for a loaded machine: twice its quiet time, plus 1 s.
    assert took < 2 * quiet + 1.0, f"{took:.2f} s during the flood, {quiet:.2f} s when quiet"
    assert set(statuses) <= {401, 429}
    assert statuses.count(429) >= 40, statuses  # one at a time from one address, not sixty
    refused = next(answer for answer in answers if answer.status_code == 429)
    assert refused.headers["retry-after"] == "1"
    assert "from your address" in one(refused.text, "[role=alert]").get_text()
    assert one(refused.text, "form[action='/login'] input[name=_csrf_token]")["value"]
    assert queue.held == {}  # every place was given back


@pytest.mark.anyio
async def test_a_full_queue_refuses_every_address_at_once() -> None:
    queue = HashQueue(1, waiting=1, per_client=5)
    async with queue.place("a"), queue.place("b"):
        with pytest.raises(HashingBusy) as busy:
            async with queue.place("c"):
                pass
    assert not busy.value.mine
    assert queue.held == {}


@pytest.mark.anyio
async def test_one_client_holds_at_most_its_share() -> None:
    queue = HashQueue(4, per_client=2)
    async with queue.place("a"), queue.place("a"):
        with pytest.raises(HashingBusy) as busy:
            async with queue.place("a"):
                pass
        async with queue.place("b"):
            assert queue.held == {"a": 2, "b": 1}
    assert busy.value.mine


@pytest.mark.anyio
async def test_a_place_is_given_back_when_the_work_fails() -> None:
    queue = HashQueue(1)

    def fails() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        async with queue.place("a"):
            await queue.run(fails)
    assert queue.held == {}


@pytest.mark.anyio
async def test_a_signup_past_a_full_queue_is_429_on_a_usable_form(app: Litestar) -> None:
    queue = app.state["hashing"] = HashQueue(1, waiting=0)
    transport = httpx.ASGITransport(app=app)
    async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        await c.get("/signup")
        form = {"handle": "dora", "password": PASSWORD, "_csrf_token": c.cookies["csrftoken"]}
        async with queue.place("someone else"):
            refused = await c.post("/signup", data=form)
        assert (await c.get("/members/dora")).status_code == 404
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert "busy checking other passwords" in one(refused.text, "[role=alert]").get_text()
    assert one(refused.text, "input#handle")["value"] == "dora"
    assert one(refused.text, "form[action='/signup'] input[name=_csrf_token]")["value"]


def test_successful_logins_do_not_count_toward_the_handle_lock(
    client: TestClient[Any], alice: int
) -> None:
    form = {"handle": "alice", "password": PASSWORD, "_csrf_token": csrf(client)}
    statuses = [
        client.post("/login", data=form, follow_redirects=False).status_code for _ in range(12)
    ]
    assert statuses == [303] * 12  # the handle's limit is 10 failed logins a minute
