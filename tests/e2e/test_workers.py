"""`ppsync serve --workers 2` with Redis (web/cli/workers.py): a change answered by one worker
reaches a stream held by the other, and both workers' read caches answer the new version; the
upload limit counts a member's uploads on both together; a worker killed with `kill -9` is
replaced while the other keeps serving, and live sync goes on.

Which worker holds a stream: each request's log line names the pid that answered, and a stream's
line is written before its opening frames are sent, so once a stream has read its `sync-ready`
frame, the latest /events line is its own (the streams are opened one at a time). The two
deadlines, 1 s and 2 s, are the issue's acceptance (issue 26), far above what Redis takes and
far below the feed's database catch-up, which would also deliver the change, seconds late."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import httpx
import pytest

from tests.e2e.conftest import Server
from tests.e2e.pages import api, api_upload
from tests.factories import jpeg
from tests.services import fresh_redis_prefix, redis_url

pytestmark = pytest.mark.e2e

REACHES_THE_OTHER_WORKER_S = 1.0  # issue 26's acceptance
HEALTHY_AFTER_A_KILL_S = 2.0  # likewise
UPLOAD_LIMIT = 3  # UPLOADS_PER_MINUTE; counters of its own would let each worker take 3
# Hang bounds, not timings: a worker's start-up takes seconds on a loaded 2-core machine.
START_S = 120.0
FRAME_S = 10.0


class RawStream:
    """GET /events?members=ID on a connection of its own, read as bytes as they arrive."""

    def __init__(self, server: Server, member: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=FRAME_S)
        request = f"GET /events?members={member} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        self.sock.sendall(request.encode())
        self.received = b""

    def wait_for(self, marker: bytes, seconds: float) -> bool:
        """Whether `marker` has arrived, reading for at most `seconds`."""
        deadline = time.monotonic() + seconds
        while marker not in self.received:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                return False
            if not chunk:
                return False
            self.received += chunk
        return True

    def close(self) -> None:
        self.sock.close()


def answered_by(server: Server, path: str) -> list[int]:
    """The pids of the log lines of `path`, oldest first."""
    lines = [json.loads(line) for line in server.log_lines('"path":"' + path + '"')]
    return [line["pid"] for line in lines]


def stream_on_a_worker(server: Server, member: int) -> tuple[int, RawStream]:
    """A new stream, opened and ready, and the pid of the worker holding it."""
    stream = RawStream(server, member)
    assert stream.wait_for(b"event: sync-ready", FRAME_S), stream.received
    return answered_by(server, "/events")[-1], stream


def streams_on_two_workers(
    server: Server, member: int, stack: ExitStack, *, not_on: int | None = None
) -> dict[int, RawStream]:
    """One stream on each of two different workers (neither `not_on`)."""
    held: dict[int, RawStream] = {}
    deadline = time.monotonic() + START_S
    while len(held) < 2 and time.monotonic() < deadline:
        pid, stream = stream_on_a_worker(server, member)
        if pid in held or pid == not_on:
            stream.close()
            time.sleep(0.1)  # the other worker may still be starting
        else:
            held[pid] = stream
            stack.callback(stream.close)
    assert len(held) == 2, f"streams reached only {sorted(held)}: {server.log()[-2000:]}"
    return held


def two_workers(factory: Callable[..., Server], **env: str) -> Server:
    settings = {
        "REDIS_URL": redis_url(),  # skips, saying so, without TEST_REDIS_URL
        "REDIS_PREFIX": fresh_redis_prefix(),
        "EVENTS_PER_CLIENT": "1000",  # the tests open streams until both workers hold one
    }
    server: Server = factory(settings | env, serve_args=["--workers", "2"])
    return server


@pytest.fixture
def workers(server_factory: Callable[..., Server]) -> Server:
    return two_workers(server_factory)


@pytest.fixture
def streams() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


def upload(server: Server, member: int, colour: str) -> int:
    """An API upload; the pid of the worker that answered it."""
    with api(server, server.token(member)) as client:
        api_upload(client, member, colour, size=(64, 48))
    return answered_by(server, "/api/profile/upload-picture")[-1]


def test_an_upload_answered_by_one_worker_reaches_a_stream_held_by_the_other(
    workers: Server, streams: ExitStack
) -> None:
    alice = workers.add_member("alice", "Alice Liddell")
    held = streams_on_two_workers(workers, alice, streams)
    uploaded_by = upload(workers, alice, "red")
    (other,) = (stream for pid, stream in held.items() if pid != uploaded_by)
    assert other.wait_for(f"event: avatar-{alice}\n".encode(), REACHES_THE_OTHER_WORKER_S)
    assert held[uploaded_by].wait_for(f"event: avatar-{alice}\n".encode(), FRAME_S)


def test_both_workers_answer_the_new_version_once_their_streams_have_the_change(
    workers: Server, streams: ExitStack
) -> None:
    alice = workers.add_member("alice", "Alice Liddell")
    held = streams_on_two_workers(workers, alice, streams)
    before = fragments_by_worker(workers, alice)  # each worker's read cache now holds alice
    upload(workers, alice, "red")
    for stream in held.values():  # the read cache is told before the streams (web/live/streams.py)
        assert stream.wait_for(f"event: avatar-{alice}\n".encode(), FRAME_S)
    after = fragments_by_worker(workers, alice)
    assert set(before) == set(after) == set(held)
    assert set(before.values()) == {f'"a{alice}-v0-sm"'}
    assert set(after.values()) == {f'"a{alice}-v1-sm"'}


def fragments_by_worker(server: Server, member: int) -> dict[int, str]:
    """The ETag of the member's partial as each of two workers answers it (new connections
    until both have answered)."""
    path = f"/components/avatar/{member}"
    etags: dict[int, str] = {}
    deadline = time.monotonic() + START_S
    while len(etags) < 2 and time.monotonic() < deadline:
        response = httpx.get(f"{server.url}{path}?size=sm", timeout=FRAME_S)
        assert response.status_code == 200, response.text
        etags.setdefault(answered_by(server, path)[-1], response.headers["etag"])
    return etags


def test_the_upload_limit_counts_a_members_uploads_on_every_worker_together(
    server_factory: Callable[..., Server],
) -> None:
    server = two_workers(server_factory, UPLOADS_PER_MINUTE=str(UPLOAD_LIMIT))
    alice = server.add_member("alice", "Alice Liddell")
    token = {"Authorization": f"Bearer {server.token(alice)}"}
    statuses: list[int] = []
    path = "/api/profile/upload-picture"
    while len(set(answered_by(server, path))) < 2 or len(statuses) <= UPLOAD_LIMIT:
        assert len(statuses) < 40, f"every upload reached one worker: {answered_by(server, path)}"
        response = httpx.post(  # a new connection each: either worker may take it
            f"{server.url}{path}",
            files={"profilePicture": ("me.jpg", jpeg("red", (64, 48)), "image/jpeg")},
            data={"userId": str(alice)},
            headers=token,
            timeout=FRAME_S,
        )
        statuses.append(response.status_code)
    assert statuses[:UPLOAD_LIMIT] == [201] * UPLOAD_LIMIT
    assert set(statuses[UPLOAD_LIMIT:]) == {429}


def test_a_worker_killed_with_kill_9_is_replaced_and_live_sync_goes_on(
    workers: Server, streams: ExitStack
) -> None:
    alice = workers.add_member("alice", "Alice Liddell")
    killed, survivor = list(streams_on_two_workers(workers, alice, streams))
    os.kill(killed, signal.SIGKILL)
    assert healthy_within(workers, HEALTHY_AFTER_A_KILL_S)
    upload(workers, alice, "red")  # whichever worker answers: the survivor, or the new one
    pid, stream = stream_on_a_worker(workers, alice)
    streams.callback(stream.close)
    upload(workers, alice, "blue")
    assert stream.wait_for(f"event: avatar-{alice}\n".encode(), FRAME_S), stream.received
    replaced = streams_on_two_workers(workers, alice, streams, not_on=killed)
    assert survivor in replaced  # the other kept serving; a new worker took the killed one's place
    assert f"Child process [{killed}] died" in workers.log()


def healthy_within(server: Server, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            left = max(0.1, deadline - time.monotonic())
            if httpx.get(f"{server.url}/healthz", timeout=left).is_success:
                return True
        except httpx.HTTPError:
            time.sleep(0.05)
    return False
