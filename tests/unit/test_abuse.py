"""Abuse resistance (issue 12): login and sign-up throttling, small bodies for small forms, the
stream cap, per-member and per-address limits, caches, secrets and security headers."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.stores.memory import MemoryStore
from litestar.testing import TestClient
from litestar.types import Receive, Scope, Send
from sqlmodel import Session, select

from db.models import SyncSession, WebSession
from tests.api_support import PROBLEM_JSON, bearer, make_token
from tests.conftest import Lines, Migrate
from tests.factories import PASSWORD, jpeg
from tests.forms import csrf, log_in
from tests.html import one
from tests.services import fresh_redis_prefix, redis_url
from tests.unit.test_events import SseClient, hub_of
from web.app import create_app
from web.plumbing import body_limit
from web.plumbing.client import address_of
from web.plumbing.fallback_store import MemoryPurger
from web.plumbing.throttle import Limit, Throttle
from web.services.accounts import passwords, tokens
from web.services.accounts.hashing import HashQueue
from web.services.audit import Actor
from web.settings import ARGON2, Settings, SettingsError

PROXY = "10.9.9.9"  # the trusted proxy TestClient requests come through (SseClient: 127.0.0.1)


class ThroughProxy:
    """Every request reaches the app from PROXY; X-Forwarded-For then names the client."""

    def __init__(self, app: Litestar) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["client"] = (PROXY, 40000)
        await self.app(scope, receive, send)


@pytest.fixture
def proxied_settings(settings: Settings, migrated: Migrate) -> Settings:
    migrated(settings.database_url)
    return replace(
        settings,
        trusted_proxies=Settings.from_env(
            {"TRUSTED_PROXIES": f"{PROXY}/32, 127.0.0.1", "SECRET_KEY": "k" * 40}
        ).trusted_proxies,
    )


@pytest.fixture
def proxied(proxied_settings: Settings) -> Iterator[TestClient[Any]]:
    with TestClient(ThroughProxy(create_app(proxied_settings))) as client:  # type: ignore[arg-type]
        yield client


def from_address(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def login(client: TestClient[Any], password: str, address: str = "203.0.113.1") -> Any:
    return client.post(
        "/login",
        data={"handle": "alice", "password": password, "_csrf_token": csrf(client)},
        headers=from_address(address),
        follow_redirects=False,
    )


def side_by_side(app: Litestar) -> httpx.AsyncClient:
    """A client whose requests run concurrently on the test's own loop (TestClient's do not)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


# --- login and sign-up -------------------------------------------------------------------


def test_the_sixth_failed_login_from_one_address_is_429_on_a_usable_form(
    proxied: TestClient[Any], alice: int
) -> None:
    statuses = [login(proxied, "wrong password").status_code for _ in range(5)]
    assert statuses == [401] * 5
    refused = login(proxied, "wrong password")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 15 * 60
    assert "Too many failed logins" in one(refused.text, "[role=alert]").get_text()
    assert one(refused.text, "form[action='/login'] input[name=_csrf_token]")["value"]


def test_a_throttled_login_is_refused_even_with_the_right_password(
    proxied: TestClient[Any], alice: int
) -> None:
    for _ in range(5):
        login(proxied, "wrong password")
    assert login(proxied, PASSWORD).status_code == 429


def test_another_address_may_log_in_while_one_is_throttled(
    proxied: TestClient[Any], alice: int
) -> None:
    for _ in range(6):
        login(proxied, "wrong password", "203.0.113.1")
    assert login(proxied, PASSWORD, "203.0.113.2").status_code == 303


def test_a_successful_login_resets_the_failed_count(proxied: TestClient[Any], alice: int) -> None:
    for _ in range(4):
        login(proxied, "wrong password")
    assert login(proxied, PASSWORD).status_code == 303
    assert [login(proxied, "wrong password").status_code for _ in range(5)] == [401] * 5


def test_failed_logins_from_many_addresses_reach_the_handle_ceiling(
    proxied: TestClient[Any], alice: int
) -> None:
    statuses = [login(proxied, "wrong", f"198.51.100.{n}").status_code for n in range(11)]
    assert statuses == [401] * 10 + [429]
    fresh = login(proxied, PASSWORD, "192.0.2.77")
    assert fresh.status_code == 429
    assert int(fresh.headers["retry-after"]) <= 60  # the member waits a minute at most


def test_failed_logins_are_counted_across_processes_through_redis(
    proxied_settings: Settings, alice: int
) -> None:
    shared = replace(proxied_settings, redis_url=redis_url(), redis_prefix=fresh_redis_prefix())
    first, second = (ThroughProxy(create_app(shared)) for _ in range(2))
    with TestClient(first) as one_process, TestClient(second) as another:  # type: ignore[arg-type]
        assert [login(one_process, "wrong").status_code for _ in range(5)] == [401] * 5
        assert login(another, "wrong").status_code == 429


def signup(client: TestClient[Any], handle: str) -> Any:
    form = {"handle": handle, "password": PASSWORD, "_csrf_token": csrf(client)}
    return client.post(
        "/signup", data=form, headers=from_address("203.0.113.9"), follow_redirects=False
    )


def test_the_sixth_signup_from_one_address_within_an_hour_is_429(
    proxied: TestClient[Any],
) -> None:
    assert [signup(proxied, f"member-{n}").status_code for n in range(5)] == [303] * 5
    refused = signup(proxied, "member-6")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 60 * 50
    assert "Too many accounts" in one(refused.text, "[role=alert]").get_text()
    assert one(refused.text, "form[action='/signup'] input[name=_csrf_token]")["value"]


@pytest.mark.anyio
async def test_password_hashing_runs_on_at_most_the_hashing_slots(
    app: Litestar, alice: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    running, most, lock = 0, 0, threading.Lock()
    real = passwords.verify_password

    def counted(password_hash: str, password: str) -> bool:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        try:
            return real(password_hash, password)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(passwords, "verify_password", counted)
    app.state["hashing"] = HashQueue(2, per_client=5)  # room for all five: they queue
    transport = httpx.ASGITransport(app=app)  # requests run side by side on the test's loop
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        await client.get("/login")
        token = client.cookies["csrftoken"]
        form = {"handle": "alice", "password": "wrong", "_csrf_token": token}
        answers = await asyncio.gather(*(client.post("/login", data=form) for _ in range(5)))
    assert [a.status_code for a in answers] == [401] * 5
    assert most == 2


@pytest.mark.anyio
async def test_a_burst_of_failed_logins_from_one_address_hashes_at_most_five(
    app: Litestar, alice: int
) -> None:
    app.state["hashing"] = HashQueue(2, waiting=16, per_client=16)  # the throttle refuses here
    transport = httpx.ASGITransport(app=app)
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        await client.get("/login")
        form = {"handle": "alice", "password": "wrong", "_csrf_token": client.cookies["csrftoken"]}
        answers = await asyncio.gather(*(client.post("/login", data=form) for _ in range(16)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [401] * 5 + [429] * 11


# --- small bodies ------------------------------------------------------------------------


def test_a_10_mb_form_to_login_is_413_before_the_csrf_check(client: TestClient[Any]) -> None:
    body = b"handle=" + b"a" * (10 * 2**20)
    started = time.perf_counter()
    response = client.post(
        "/login", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 413  # not the CSRF middleware's 403: it parsed nothing
    assert time.perf_counter() - started < 1
    assert "too large" in one(response.text, "[role=alert]").get_text()
    form_token = one(response.text, "form[action='/login'] input[name=_csrf_token]")["value"]
    assert form_token == response.cookies["csrftoken"]  # the form works as it is


def test_a_chunked_form_past_64_kib_is_413(client: TestClient[Any]) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"handle="
        for _ in range(100):
            yield b"a" * 4096

    response = client.post(
        "/login", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 413


def test_a_form_under_64_kib_is_read(client: TestClient[Any], alice: int) -> None:
    form = {"handle": "alice", "password": "x" * 60_000, "_csrf_token": csrf(client)}
    assert client.post("/login", data=form).status_code == 401


def test_an_upload_may_be_larger_than_64_kib(client: TestClient[Any], alice: int) -> None:
    log_in(client, "alice")
    picture = jpeg(size=(1200, 900)) + b"\0" * 100_000
    assert len(picture) > 64 * 1024
    response = client.post(
        "/profile/picture",
        files={"profilePicture": ("a.jpg", picture, "image/jpeg")},
        data={"_csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_an_api_json_body_past_64_kib_is_413_problem(
    client: TestClient[Any], db: Session, alice: int
) -> None:
    token = make_token(db, alice)
    response = client.post(
        "/api/profile/sync-picture",
        content=b'{"userId": 1, "x": "' + b"a" * 70_000 + b'"}',
        headers=bearer(token) | {"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM_JSON
    assert "64 KiB" in response.json()["detail"]


# --- streams -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_streams_past_events_per_client_are_429_with_retry_after(
    proxied_settings: Settings,
) -> None:
    app = create_app(replace(proxied_settings, events_per_client=2))
    async with app.lifespan():
        held = [SseClient(app, from_address("203.0.113.5")) for _ in range(2)]
        for stream in held:
            assert (await stream.start())["status"] == 200
        refused = SseClient(app, from_address("203.0.113.5"))
        start = await refused.start()
        assert start["status"] == 429
        assert dict(start["headers"])[b"retry-after"] == b"30"
        other = SseClient(app, from_address("203.0.113.6"))
        assert (await other.start())["status"] == 200
        for stream in (*held, other):
            await stream.disconnect()


@pytest.mark.anyio
async def test_a_closed_stream_gives_its_place_back(proxied_settings: Settings) -> None:
    app = create_app(replace(proxied_settings, events_per_client=1))
    async with app.lifespan():
        first = SseClient(app, from_address("203.0.113.5"))
        assert (await first.start())["status"] == 200
        await first.disconnect()
        again = SseClient(app, from_address("203.0.113.5"))
        assert (await again.start())["status"] == 200
        await again.disconnect()
        assert hub_of(app).per_client == {}


@pytest.mark.anyio
async def test_without_trusted_proxies_x_forwarded_for_is_ignored(app: Litestar) -> None:
    app = create_app(replace(app.state["settings"], events_per_client=1))
    async with app.lifespan():
        first = SseClient(app, from_address("203.0.113.5"))
        assert (await first.start())["status"] == 200
        spoofed = SseClient(app, from_address("203.0.113.6"))
        assert (await spoofed.start())["status"] == 429
        await first.disconnect()


@pytest.mark.anyio
async def test_an_anonymous_stream_writes_no_sync_sessions_row(app: Litestar) -> None:
    async with app.lifespan():
        stream = SseClient(app, {})
        await stream.start()
        await stream.frames(1)
        await hub_of(app).flush()
        await stream.disconnect()
        await hub_of(app).flush()
    with Session(app.state["engine"]) as db:
        assert db.exec(select(SyncSession)).all() == []


def test_the_client_address_is_the_peer_without_trusted_proxies() -> None:
    scope: Any = {"client": ("10.0.0.1", 1), "headers": [(b"x-forwarded-for", b"1.2.3.4")]}
    assert address_of(scope, ()) == "10.0.0.1"


def test_the_client_address_is_the_last_untrusted_hop_behind_trusted_proxies() -> None:
    trusted = Settings.from_env(
        {"TRUSTED_PROXIES": "10.0.0.0/8", "SECRET_KEY": "k" * 40}
    ).trusted_proxies
    forwarded = b"6.6.6.6, 1.2.3.4, 10.0.0.2"  # the client may write the first hop itself
    scope: Any = {"client": ("10.0.0.1", 1), "headers": [(b"x-forwarded-for", forwarded)]}
    assert address_of(scope, trusted) == "1.2.3.4"


def test_the_request_log_names_the_forwarded_client_behind_a_trusted_proxy(
    proxied: TestClient[Any],
) -> None:
    lines = Lines()
    logger = logging.getLogger("ppsync.request")
    logger.addHandler(lines)
    try:
        proxied.get("/healthz", headers=from_address("203.0.113.50"))
    finally:
        logger.removeHandler(lines)
    assert [r["client"] for r in lines.records if r["path"] == "/healthz"] == ["203.0.113.50"]


def test_trusted_proxies_must_be_addresses_or_cidr_blocks() -> None:
    with pytest.raises(SettingsError, match="TRUSTED_PROXIES"):
        Settings.from_env({"TRUSTED_PROXIES": "10.0.0.0/8, proxy.local", "SECRET_KEY": "k" * 40})


def test_events_per_client_is_read_from_the_environment() -> None:
    settings = Settings.from_env({"EVENTS_PER_CLIENT": "5000", "SECRET_KEY": "k" * 40})
    assert settings.events_per_client == 5000


# --- per-member and per-address limits ---------------------------------------------------


def test_uploads_count_per_member_across_the_form_and_every_token(
    settings: Settings, db: Session, alice: int
) -> None:
    app = create_app(replace(settings, uploads_per_minute=2))
    first, second = make_token(db, alice, "one"), make_token(db, alice, "two")
    with TestClient(app) as client:
        log_in(client, "alice")
        by_form = client.post(
            "/profile/picture",
            files={"profilePicture": ("a.jpg", jpeg(), "image/jpeg")},
            data={"_csrf_token": csrf(client)},
            follow_redirects=False,
        )
        assert by_form.status_code == 303
        files = {"profilePicture": ("a.jpg", jpeg("blue"), "image/jpeg")}
        data = {"userId": str(alice)}
        api = "/api/profile/upload-picture"
        assert client.post(api, headers=bearer(first), files=files, data=data).status_code == 201
        refused = client.post(api, headers=bearer(second), files=files, data=data)
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0


def test_the_eleventh_token_is_refused_on_profile_with_a_message(
    client: TestClient[Any], db: Session, alice: int
) -> None:
    for n in range(tokens.MAX_ACTIVE_TOKENS):
        make_token(db, alice, f"t{n}")
    log_in(client, "alice")
    response = client.post(
        "/profile/tokens/", data={"name": "one more", "_csrf_token": csrf(client)}
    )
    assert response.status_code == 200  # the 303 back to /profile, followed
    assert "revoke one" in one(response.text, ".flash").get_text()
    assert len(tokens.list_tokens(db, alice)) == tokens.MAX_ACTIVE_TOKENS


def test_unauthenticated_api_calls_are_refused_per_address_before_token_lookup(
    client: TestClient[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    looked_up = 0
    real = tokens.authenticate

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal looked_up
        looked_up += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(tokens, "authenticate", counted)
    statuses = [
        client.get("/api/profile/picture/1", headers=bearer(f"pps_made-up-{n}")).status_code
        for n in range(61)
    ]
    assert statuses == [401] * 60 + [429]
    assert looked_up == 60
    refused = client.get("/api/profile/picture/1", headers=bearer("pps_another"))
    assert refused.headers["content-type"] == PROBLEM_JSON
    assert int(refused.headers["retry-after"]) > 0


@pytest.mark.anyio
async def test_a_concurrent_burst_of_bogus_tokens_gets_at_most_60_answers(app: Litestar) -> None:
    """All 150 at once: each is counted before its token is looked up (in a thread), so they
    cannot all pass the check before the first failure is counted."""
    transport = httpx.ASGITransport(app=app)
    async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        answers = await asyncio.gather(
            *(c.get("/api/profile/picture/1", headers=bearer(f"pps_bogus-{n}")) for n in range(150))
        )
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(401) == 60
    assert statuses.count(429) == 90


def test_calls_with_a_valid_token_are_given_back(
    client: TestClient[Any], db: Session, alice: int
) -> None:
    valid = bearer(make_token(db, alice))
    for n in range(59):
        assert client.get("/api/profile/picture/1", headers=bearer(f"pps_x{n}")).status_code == 401
    for _ in range(5):
        assert client.get(f"/api/profile/picture/{alice}", headers=valid).status_code != 429
    assert client.get("/api/profile/picture/1", headers=bearer("pps_y")).status_code == 401
    assert client.get("/api/profile/picture/1", headers=bearer("pps_z")).status_code == 429


def test_a_valid_token_is_still_served_after_60_bad_calls_from_its_address(
    client: TestClient[Any], db: Session, alice: int
) -> None:
    valid = bearer(make_token(db, alice))
    assert client.get(f"/api/profile/picture/{alice}", headers=valid).status_code == 200
    for n in range(60):
        assert client.get("/api/profile/picture/1", headers=bearer(f"pps_x{n}")).status_code == 401
    assert client.get("/api/profile/picture/1", headers=bearer("pps_y")).status_code == 429
    assert client.get(f"/api/profile/picture/{alice}", headers=valid).status_code == 200
    tokens.revoke_token(db, actor=Actor(user_id=alice), token_id=1)
    assert client.get(f"/api/profile/picture/{alice}", headers=valid).status_code == 401
    assert client.get(f"/api/profile/picture/{alice}", headers=valid).status_code == 429


@pytest.mark.anyio
async def test_the_memory_purger_forgets_expired_counters() -> None:
    store = MemoryStore()
    throttle = Throttle(store)
    for n in range(100):
        await throttle.hit(Limit("test", hits=5, seconds=1), f"203.0.113.{n}")
    assert len(store._store) == 100
    for value in store._store.values():
        value.expires_at = value.expires_at.replace(year=2000) if value.expires_at else None
    await MemoryPurger(store).purge()
    assert len(store._store) == 0


@pytest.mark.anyio
async def test_a_throttle_window_ends_after_its_seconds() -> None:
    now = [1000.0]
    throttle = Throttle(MemoryStore(), clock=lambda: now[0])
    limit = Limit("test", hits=2, seconds=60)
    assert await throttle.take(limit, "x") is None
    assert await throttle.take(limit, "x") is None
    refusal = await throttle.take(limit, "x")
    assert refusal is not None and refusal.retry_after == 60
    now[0] += 61
    assert await throttle.check(limit, "x") is None


# --- caches and secrets ------------------------------------------------------------------


def test_public_responses_carry_no_cookie(client: TestClient[Any], alice: int) -> None:
    fragment = client.get(f"/components/avatar/{alice}?size=sm&v=0")
    assert "public" in fragment.headers["cache-control"]
    assert "set-cookie" not in fragment.headers


def test_profile_is_no_store(client: TestClient[Any], alice: int) -> None:
    log_in(client, "alice")
    assert client.get("/profile").headers["cache-control"] == "no-store"


def test_a_new_token_is_shown_in_the_answer_and_never_stored_in_the_session(
    client: TestClient[Any], db: Session, alice: int
) -> None:
    log_in(client, "alice")
    response = client.post(
        "/profile/tokens/",
        data={"name": "laptop", "_csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    token = one(response.text, "textarea#new-token").get_text()
    assert token.startswith("pps_")
    stored = b"".join(row.value for row in db.exec(select(WebSession)).all())
    assert token.encode() not in stored
    assert "new-token" not in client.get("/profile").text


def test_csrf_exclusion_is_anchored_to_the_api(app: Litestar) -> None:
    assert app.csrf_config is not None
    # The API (tokens, no cookies), and the GET-only paths that render no form and skip the
    # session too (issue 15: no token cookie minted per fragment or file; the public avatar
    # URLs likewise). Each one anchored.
    assert app.csrf_config.exclude == [
        "^/api/",
        "^/components/",
        "^/media/",
        "^/static/",
        "^/avatar/",
        "^/members/[^/]+/avatar$",
    ]


@pytest.mark.parametrize("path", ["/no-such-page", "/api/no-such-path", "/healthz"])
def test_security_headers_are_on_every_response_errors_included(
    client: TestClient[Any], path: str
) -> None:
    response = client.get(path)
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in response.headers


def test_security_headers_are_on_a_refused_form(client: TestClient[Any]) -> None:
    response = client.post("/login", content=b"a" * 70_000)
    assert response.status_code == 413
    assert response.headers["x-content-type-options"] == "nosniff"


def test_hsts_is_sent_in_production(settings: Settings, migrated: Migrate) -> None:
    migrated(settings.database_url)
    production = replace(settings, production=True, password_hasher=ARGON2)
    with TestClient(create_app(production)) as client:
        assert "max-age=" in client.get("/healthz").headers["strict-transport-security"]


@pytest.mark.anyio
async def test_a_body_that_stops_coming_is_408_and_the_request_ends(
    app: Litestar, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(body_limit, "BODY_GRACE_S", 0.2)
    first = True
    sent: list[Any] = []

    async def receive() -> Any:
        nonlocal first
        if first:
            first = False
            return {"type": "http.request", "body": b"handle=a", "more_body": True}
        await asyncio.Event().wait()  # the rest never comes

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/login",
        "raw_path": b"/login",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"test"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", b"1000"),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
        "state": {},
    }
    async with app.lifespan(), asyncio.timeout(5):
        await app(scope, receive, send)  # type: ignore[arg-type]
    assert sent[0]["status"] == 408
    assert (b"connection", b"close") in sent[0]["headers"]
