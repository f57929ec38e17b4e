"""GET /events and GET /events/sync, /admin/sync, and the versioned avatar refetch.

A stream never ends by itself, so the stream tests drive the app as a server would, with the
ASGI callables in hand: they decide when the client goes away.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from anyio import to_thread
from litestar import Litestar
from litestar.channels import ChannelsPlugin
from litestar.testing import TestClient
from litestar.types import Message
from sqlmodel import Session, select

from db.models import SyncEvent, SyncSession, UserProfile
from db.types import utcnow
from tests.factories import add_member
from tests.forms import cookie_header, log_in, signed_in_cookies
from tests.html import one
from web.live import freezer
from web.live import hub as live_hub
from web.live.channel import CHANNEL, KEEPALIVE
from web.live.hub import LiveHub
from web.services import sync
from web.services.commits import Change
from web.services.sync import record_change
from web.services.sync_sessions import LiveSession, save_sessions


class SseClient:
    """One GET /events, driven directly: frames as they are sent, disconnect when we say."""

    def __init__(self, app: Litestar, headers: dict[str, str], members: Iterable[int] = ()) -> None:
        raw = [(b"host", b"test"), (b"accept", b"text/event-stream")]
        raw += [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        self.scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/events",
            "raw_path": b"/events",
            "root_path": "",
            "query_string": b"members=%s" % ",".join(map(str, members)).encode(),
            "headers": raw,
            "client": ("127.0.0.1", 50000),
            "server": ("test", 80),
            "state": {},
        }
        self.messages: asyncio.Queue[Message] = asyncio.Queue()
        self.gone = asyncio.Event()
        self.send_gate: asyncio.Event | None = None  # set: a client that reads slowly
        self._asked = False
        self._buffer = b""
        self.task = asyncio.create_task(app(self.scope, self._receive, self._send))  # type: ignore[arg-type]

    async def _receive(self) -> Message:
        if not self._asked:
            self._asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: Message) -> None:
        if self.send_gate is not None and message["type"] == "http.response.body":
            await self.send_gate.wait()
        await self.messages.put(message)

    async def start(self) -> Message:
        async with asyncio.timeout(3):
            message = await self.messages.get()
        assert message["type"] == "http.response.start"
        return message

    async def frames(self, count: int) -> list[bytes]:
        """The next `count` frames (keep-alive comments included)."""
        async with asyncio.timeout(3):
            while self._buffer.count(b"\n\n") < count:
                message = await self.messages.get()
                assert message["type"] == "http.response.body"
                self._buffer += message["body"]
        *frames, self._buffer = self._buffer.split(b"\n\n", count)
        return [frame + b"\n\n" for frame in frames]

    async def ended(self) -> bool:
        """Whether the response finished (more_body False), draining what is left."""
        async with asyncio.timeout(3):
            while True:
                message = await self.messages.get()
                if message["type"] == "http.response.body" and not message["more_body"]:
                    return True

    async def disconnect(self) -> None:
        self.gone.set()
        async with asyncio.timeout(3):
            await self.task


def ids(frames: list[bytes]) -> list[int]:
    return [int(line[4:]) for f in frames for line in f.split(b"\n") if line[:4] == b"id: "]


def events(frames: list[bytes]) -> list[str]:
    return [line[7:].decode() for f in frames for line in f.split(b"\n") if line[:7] == b"event: "]


def plugin_subscribers(app: Litestar) -> int:
    """The hub alone subscribes to the plugin, however many streams are open."""
    plugin = app.plugins.get(ChannelsPlugin)
    return len(plugin._channels[CHANNEL])


def hub_of(app: Litestar) -> LiveHub:
    return live_hub.live_hub(app)


def change(app: Litestar, user_id: int, kind: str = "uploaded") -> Change:
    """A change made as the upload, restore and delete paths make it: commit, then publish."""
    with Session(app.state["engine"]) as db:
        made = record_change(db, user_id=user_id, kind=kind)
        db.commit()
    live_hub.live_hub(app).publish(made)
    return made


@asynccontextmanager
async def running(app: Litestar) -> AsyncIterator[Callable[..., SseClient]]:
    """The app started, a way to open streams, and every stream closed afterwards."""
    opened: list[SseClient] = []

    def open_stream(members: Iterable[int] = (), **headers: str) -> SseClient:
        """A stream following `members` (and the viewer its cookie names, if any)."""
        opened.append(SseClient(app, headers, members))
        return opened[-1]

    async with app.lifespan():
        yield open_stream
        for client in opened:
            if not client.task.done():
                await client.disconnect()


@pytest.mark.anyio
async def test_stream_is_event_stream_opening_with_retry_and_the_newest_id(
    app: Litestar, alice: int
) -> None:
    last = change_sync(app, alice)
    async with running(app) as open_stream:
        client = open_stream()
        start = await client.start()
        headers = dict(start["headers"])
        assert headers[b"content-type"] == b"text/event-stream"
        assert headers[b"cache-control"] == b"no-cache, no-transform"
        [ready] = await client.frames(1)
        assert ready.startswith(b"retry: 1000\nid: %d\nevent: sync-ready\n" % last.event_id)


@pytest.mark.anyio
async def test_change_is_sent_as_the_published_bytes(app: Litestar, alice: int) -> None:
    async with running(app) as open_stream:
        client = open_stream([alice])
        await client.start()
        await client.frames(1)
        made = change(app, alice)
        [frame] = await client.frames(1)
        assert frame == (
            b'id: %d\nevent: avatar-%d\ndata: {"userId":%d,"version":1,"kind":"uploaded"}\n\n'
            % (made.event_id, alice, alice)
        )


@pytest.mark.anyio
async def test_reconnect_replays_missed_events_then_goes_live_without_gap_or_duplicate(
    app: Litestar, alice: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = change_sync(app, alice)
    missed = [change_sync(app, alice), change_sync(app, alice, "deleted")]
    racing: list[Change] = []
    replay_since = sync.replay_since

    def replay_after_a_racing_change(
        session: Session, last: int | None, **members: Any
    ) -> sync.Replay:
        # Committed and published after the stream subscribed, before its replay query: it is
        # both in the replay and in the live queue, and must reach the tab once.
        racing.append(change(app, alice, "restored"))
        return replay_since(session, last, **members)

    monkeypatch.setattr(live_hub.sync, "replay_since", replay_after_a_racing_change)
    async with running(app) as open_stream:
        client = open_stream([alice], **{"Last-Event-ID": str(seen.event_id)})
        await client.start()
        opening = await client.frames(4)
        later = change(app, alice)
        [live] = await client.frames(1)
    expected = [m.event_id for m in missed] + [racing[0].event_id]
    assert ids(opening) == [*expected, racing[0].event_id]  # the last one is sync-ready's id
    assert events(opening)[-1] == "sync-ready"
    assert ids([live]) == [later.event_id]


@pytest.mark.anyio
async def test_reconnect_past_the_kept_window_sends_resync(app: Litestar, alice: int) -> None:
    seen = change_sync(app, alice)
    change_sync(app, alice)
    newest = change_sync(app, alice)
    with Session(app.state["engine"]) as db:
        for event in db.exec(select(SyncEvent)).all():
            event.created_at = event.created_at.replace(year=2000)
        db.commit()
        sync.prune_events(db)
        db.commit()
    async with running(app) as open_stream:
        client = open_stream(**{"Last-Event-ID": str(seen.event_id)})
        await client.start()
        opening = await client.frames(2)
    assert events(opening) == ["resync", "sync-ready"]
    assert ids(opening) == [newest.event_id]


@pytest.mark.anyio
async def test_disconnect_brings_the_stream_count_back_to_zero(app: Litestar, alice: int) -> None:
    async with running(app) as open_stream:
        baseline_tasks = len(asyncio.all_tasks())
        clients = [open_stream() for _ in range(3)]
        for client in clients:
            await client.start()
            await client.frames(1)
        assert len(hub_of(app).streams) == 3
        assert plugin_subscribers(app) == 1
        for client in clients:
            await client.disconnect()
        assert not hub_of(app).streams
        assert len(asyncio.all_tasks()) == baseline_tasks  # no watcher task left behind


@pytest.mark.anyio
async def test_keep_alive_comment_reaches_every_stream_on_the_tick(app: Litestar) -> None:
    hub_of(app).tick = 0.05
    async with running(app) as open_stream:
        clients = [open_stream(), open_stream()]
        for client in clients:
            await client.start()
            await client.frames(1)
        for client in clients:
            assert await client.frames(1) == [KEEPALIVE]


@pytest.mark.anyio
async def test_server_shutdown_ends_streams_and_closes_their_sessions(
    app: Litestar, alice: int
) -> None:
    cookie = cookie_header(signed_in_cookies(app, "alice"))
    async with app.lifespan():
        client = SseClient(app, {"User-Agent": "Firefox/140", "Cookie": cookie})
        await client.start()
        await client.frames(1)
        await hub_of(app).flush()
    assert await client.ended()
    assert not hub_of(app).streams
    assert plugin_subscribers(app) == 0
    with Session(app.state["engine"]) as db:
        [row] = db.exec(select(SyncSession)).all()
    assert row.user_agent == "Firefox/140"
    assert row.disconnected_at is not None


@pytest.mark.anyio
async def test_a_tab_is_saved_with_its_viewer_and_last_event(app: Litestar, alice: int) -> None:
    cookie = cookie_header(signed_in_cookies(app, "alice"))
    async with running(app) as open_stream:
        client = open_stream(Cookie=cookie)
        await client.start()
        await client.frames(1)
        made = change(app, alice)
        await client.frames(1)
        await hub_of(app).flush()
        with Session(app.state["engine"]) as db:
            [row] = db.exec(select(SyncSession)).all()
        assert (row.viewer_id, row.last_event_id, row.disconnected_at) == (
            alice,
            made.event_id,
            None,
        )


@pytest.mark.anyio
async def test_a_client_that_stops_reading_is_cut_off_and_then_replays(
    app: Litestar, alice: int
) -> None:
    async with running(app) as open_stream:
        client = open_stream([alice])
        await client.start()
        await client.frames(1)
        client.send_gate = asyncio.Event()  # the client's socket is full: sends wait
        for _ in range(80):
            change(app, alice)
        await asyncio.sleep(0.1)
        assert next(iter(hub_of(app).streams)).subscriber.closed
        client.send_gate.set()
        assert await client.ended()


@pytest.mark.anyio
async def test_every_so_many_new_streams_are_frozen_out_of_the_collectors_walks(
    app: Litestar, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(freezer, "FREEZE_EVERY", 2)
    async with running(app) as open_stream:
        gc.unfreeze()
        first = open_stream()
        await first.start()
        assert gc.get_freeze_count() == 0
        second = open_stream()
        await second.start()
        assert gc.get_freeze_count() > 0


@pytest.mark.anyio
async def test_a_draining_server_refuses_new_streams_with_503(app: Litestar) -> None:
    async with running(app) as open_stream:
        hub_of(app).drain()
        client = open_stream()
        start = await client.start()
        assert start["status"] == 503


def change_sync(app: Litestar, user_id: int, kind: str = "uploaded") -> Change:
    """A committed change nobody hears about live (made before the test's streams open)."""
    with Session(app.state["engine"]) as db:
        made = record_change(db, user_id=user_id, kind=kind)
        db.commit()
    return made


# The fallback sync: one request for every avatar on a page.


def test_sync_is_304_when_every_avatar_is_current(client: TestClient[Any], db: Session) -> None:
    alice, bob = add_member(db, "alice"), add_member(db, "bob")
    response = client.get(f"/events/sync?avatars={alice}:0,{bob}:0")
    assert response.status_code == 304
    assert response.headers["cache-control"] == "no-store"


def test_sync_lists_members_whose_picture_changed(client: TestClient[Any], db: Session) -> None:
    alice, bob = add_member(db, "alice"), add_member(db, "bob")
    record_change(db, user_id=bob, kind="uploaded")
    db.commit()
    response = client.get(f"/events/sync?avatars={alice}:0,{bob}:0,{bob}:1,9999:3")
    assert response.status_code == 200
    assert response.json() == {"changes": [{"userId": bob, "version": 1}]}


@pytest.mark.parametrize("avatars", ["42", "a:1", "1:2:3", ",".join(f"{i}:0" for i in range(501))])
def test_sync_refuses_a_malformed_list_with_400(client: TestClient[Any], avatars: str) -> None:
    assert client.get(f"/events/sync?avatars={avatars}").status_code == 400


def test_sync_by_the_members_own_tab_notes_last_picture_sync(
    client: TestClient[Any], db: Session, alice: int
) -> None:
    log_in(client, "alice")
    assert client.get(f"/events/sync?avatars={alice}:0").status_code == 304
    profile = db.get(UserProfile, alice)
    assert profile is not None and profile.last_picture_sync is not None


def test_sync_by_another_member_does_not_note_it(
    client: TestClient[Any], db: Session, alice: int
) -> None:
    add_member(db, "bob")
    log_in(client, "bob")
    client.get(f"/events/sync?avatars={alice}:0")
    profile = db.get(UserProfile, alice)
    assert profile is not None and profile.last_picture_sync is None


# The admin page.


def test_admin_sync_sends_anonymous_visitors_to_log_in(client: TestClient[Any]) -> None:
    response = client.get("/admin/sync", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/admin/sync"


def test_admin_sync_is_403_for_members(client: TestClient[Any], alice: int) -> None:
    log_in(client, "alice")
    assert client.get("/admin/sync").status_code == 403


def test_admin_sync_lists_open_tabs_and_their_lag(client: TestClient[Any], db: Session) -> None:
    add_member(db, "root", "Root", admin=True)
    alice = add_member(db, "alice")
    first = record_change(db, user_id=alice, kind="uploaded")
    record_change(db, user_id=alice, kind="deleted")
    db.commit()
    sync_sessions_save(db, alice, first.event_id)
    log_in(client, "root")
    response = client.get("/admin/sync")
    assert response.status_code == 200
    row = one(response.text, "table[aria-label='Open tabs'] tbody tr")
    cells = [cell.get_text(strip=True) for cell in row.select("td")]
    assert cells[0] == "@alice"
    assert cells[-2:] == [str(first.event_id), "1"]


def sync_sessions_save(db: Session, viewer_id: int, last_event_id: int) -> None:
    tab = LiveSession("t1", viewer_id, "Firefox", utcnow(), last_event_id)
    save_sessions(db, opened=[tab])
    db.commit()


# The avatar refetch a live event causes.


def test_versioned_refetch_is_immutable(client: TestClient[Any], alice: int) -> None:
    response = client.get(f"/components/avatar/{alice}?size=md&v=0")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["etag"] == f'"a{alice}-v0-md"'


def test_versioned_refetch_of_a_cached_version_does_not_touch_the_database(
    client: TestClient[Any], app: Litestar, alice: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = client.get(f"/components/avatar/{alice}?size=sm&v=0")
    monkeypatch.setattr("web.caches.reads.read_member", _no_database)
    again = client.get(f"/components/avatar/{alice}?size=sm&v=0")
    assert again.status_code == 200
    assert again.text == first.text
    etag = first.headers["etag"]
    not_modified = client.get(
        f"/components/avatar/{alice}?size=sm&v=0", headers={"If-None-Match": etag}
    )
    assert not_modified.status_code == 304


def _no_database(*_args: object) -> None:
    raise AssertionError("the database was read")


def test_refetch_of_a_version_that_is_not_current_answers_current_without_caching(
    client: TestClient[Any], db: Session, alice: int
) -> None:
    record_change(db, user_id=alice, kind="uploaded")
    db.commit()
    response = client.get(f"/components/avatar/{alice}?size=sm&v=7")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
    assert one(response.text, "[data-user-id]")["data-avatar-version"] == "1"


def test_new_version_is_rendered_afresh_not_served_from_the_cache(
    client: TestClient[Any], db: Session, alice: int
) -> None:
    client.get(f"/components/avatar/{alice}?size=sm")
    record_change(db, user_id=alice, kind="uploaded")
    db.commit()
    response = client.get(f"/components/avatar/{alice}?size=sm&v=1")
    assert one(response.text, "[data-user-id]")["data-avatar-version"] == "1"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_every_page_carries_the_live_sync_element_and_script(client: TestClient[Any]) -> None:
    page = client.get("/members").text
    element = one(page, "[data-live-sync]")
    assert element["hx-sse:connect"] == "/events"
    assert element["data-live-sync"] == "/events/sync"
    assert element["data-live-subscribe"] == "/events/subscriptions"
    assert element["data-live-members-max"] == "500"  # EVENTS_MEMBERS_PER_STREAM
    assert one(page, "script[src^='/static/js/live-sync.js']")


@pytest.mark.anyio
async def test_a_stream_opened_during_a_catch_up_gets_each_event_once(
    app: Litestar, alice: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = change_sync(app, alice)
    async with running(app) as open_stream:
        feed = hub_of(app).feed
        missed = [change_sync(app, alice), change_sync(app, alice)]  # no doorbell rang
        reading, release = threading.Event(), threading.Event()
        read = feed._read

        def slow_read(last: int | None) -> sync.Replay:
            reading.set()
            release.wait(3)
            return read(last)

        monkeypatch.setattr(feed, "_read", slow_read)
        hub_of(app).catch_up_soon()
        await to_thread.run_sync(reading.wait, 3)
        client = open_stream([alice], **{"Last-Event-ID": str(seen.event_id)})  # mid-catch-up
        await client.start()
        opening = await client.frames(3)
        release.set()
        later = change(app, alice)
        [live] = await client.frames(1)
    assert ids(opening) == [missed[0].event_id, missed[1].event_id, missed[1].event_id]
    assert ids([live]) == [later.event_id]  # the catch-up's copies of the replay were dropped
