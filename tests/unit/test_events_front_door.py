"""GET /events runs outside Litestar's middleware and hooks (web/app.py's front door): what they
did for it, it still does: security headers, the request log line, the signed-in member, the
database-away answer; and what they did that a stream does not need (the session written back
and its cookie) it no longer does."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import exc

from tests.conftest import Lines
from tests.forms import cookie_header, signed_in_cookies
from tests.unit.test_events import SseClient, hub_of, running
from web.live.hub import LiveHub
from web.plumbing.replies import RETRY_AFTER_DATABASE as RETRY_AFTER_S


def head(start: dict[str, Any]) -> dict[bytes, bytes]:
    return dict(start["headers"])


@pytest.mark.anyio
async def test_the_stream_carries_the_security_headers(app: Litestar) -> None:
    async with running(app) as open_stream:
        headers = head(await open_stream().start())
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert headers[b"x-frame-options"] == b"DENY"
    assert headers[b"content-security-policy"].startswith(b"default-src 'self'")
    assert headers[b"content-type"] == b"text/event-stream"


@pytest.mark.anyio
async def test_a_refused_stream_carries_them_too(app: Litestar) -> None:
    async with running(app) as open_stream:
        hub_of(app).drain()
        start = await open_stream().start()
    assert start["status"] == 503
    assert head(start)[b"x-content-type-options"] == b"nosniff"


@pytest.mark.anyio
async def test_the_stream_writes_its_request_log_line(app: Litestar, lines: Lines) -> None:
    async with running(app) as open_stream:
        await open_stream().start()
    [record] = [r for r in lines.records if r["path"] == "/events"]
    assert (record["method"], record["status"], record["client"]) == ("GET", 200, "127.0.0.1")
    assert isinstance(record["ms"], float)


@pytest.mark.anyio
async def test_a_member_s_stream_reads_the_session_and_sends_no_cookie(
    app: Litestar, alice: int
) -> None:
    cookie = cookie_header(signed_in_cookies(app, "alice"))
    async with running(app) as open_stream:
        start = await open_stream(Cookie=cookie).start()
        [stream] = hub_of(app).streams
        assert stream.tab.viewer_id == alice
    assert b"set-cookie" not in head(start)


@pytest.mark.anyio
async def test_a_stream_opened_while_the_database_is_away_is_503_with_retry_after(
    app: Litestar, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(_hub: LiveHub, _last: int | None, _members: object) -> None:
        raise exc.TimeoutError("QueuePool limit reached")

    monkeypatch.setattr(LiveHub, "_replay", unreachable)
    async with app.lifespan():
        client = SseClient(app, {})
        start = await client.start()
        assert start["status"] == 503
        assert head(start)[b"retry-after"] == str(RETRY_AFTER_S).encode()
        assert await client.ended()
        assert not hub_of(app).streams and hub_of(app).per_client == {}


@pytest.mark.anyio
async def test_other_methods_are_405(app: Litestar) -> None:
    async with app.lifespan():
        client = SseClient(app, {})
        client.scope["method"] = "POST"
        # The scope is read when the task first runs, after this line.
        start = await client.start()
    assert start["status"] == 405
    assert head(start)[b"allow"] == b"GET"
