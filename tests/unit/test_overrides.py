"""Canaries: one per override in web/overrides/, each asserting the upstream shape or behaviour
the override relies on (not our code), so that an upgrade of uvicorn or Litestar that changes it
fails here, loudly, naming what changed and where upstream discussed it, before it fails in
production. A canary that says upstream now does the job is as welcome: drop the override.
The list of overrides: docs/architecture.md ("Overrides")."""

from __future__ import annotations

import asyncio
import inspect
import multiprocessing
import re
from dataclasses import dataclass, fields
from typing import Annotated, Any

import pytest
import uvicorn
from litestar import Litestar, Request, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.middleware.csrf import CSRF_SECRET_LENGTH, generate_csrf_hash, generate_csrf_token
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.params import Body, FromPath
from litestar.stores.memory import MemoryStore
from litestar.template.base import csrf_token
from litestar.testing import TestClient
from litestar.utils.scope.state import ScopeState
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState
from uvicorn.supervisors import Multiprocess

from tests.canary import Override, Transport, ok_app, params, protocol, relied_on, same_params
from web.overrides.litestar_entry import enter_app, run_before_send
from web.overrides.send_at_once import can_send_at_once, send_at_once

LIMITS = Override("server_limits", "Kludex/uvicorn#157 (limits; PRs #1684, #1685 unmerged)")
UPLOADS = Override("upload_memory", "litestar UploadFile(max_spool_size); Kludex/starlette#3190")
SESSIONS = Override("sessions", "litestar-org/litestar#3127 (get_session_id), #697 (Empty)")
CSRF = Override("csrf_token", "litestar/middleware/csrf.py (not in __all__), template/base.py")
ENTRY = Override("litestar_entry", "litestar/app.py Litestar.__call__, _wrap_send; 2.0 changelog")
WORKERS = Override("worker_config", "uvicorn/supervisors/multiprocess.py, _subprocess.py (spawn)")


# --- server_limits: uvicorn's HTTP protocol classes -------------------------------------------


@pytest.mark.parametrize("cls", [H11Protocol, HttpToolsProtocol])
def test_uvicorn_protocols_keep_the_methods_server_limits_overrides(cls: type[Any]) -> None:
    expected = {
        "connection_made": ["self", "transport"],
        "connection_lost": ["self", "exc"],
        "data_received": ["self", "data"],
    }
    if cls is HttpToolsProtocol:
        expected |= {"on_message_begin": ["self"], "on_headers_complete": ["self"]}
    same_params(cls, expected, LIMITS)


@pytest.mark.anyio
@pytest.mark.parametrize("cls", [H11Protocol, HttpToolsProtocol])
async def test_uvicorn_makes_a_cycle_once_a_head_is_complete(cls: type[Any]) -> None:
    made = protocol(cls, LIMITS)
    made.data_received(b"GET / HTTP/1.1\r\nhost: x\r\n")
    partial = made.cycle
    made.data_received(b"\r\n")
    cycle = made.cycle
    for _ in range(10):
        await asyncio.sleep(0)
    made.connection_lost(None)
    relied_on(
        partial is None and cycle is not None and cycle.response_complete,
        f"{cls.__name__}: `cycle` stays None while a head arrives, then is a new cycle whose "
        "`response_complete` turns True once answered (the header deadline ends there)",
        LIMITS,
    )


@pytest.mark.anyio
async def test_httptools_marks_where_a_head_begins_and_ends() -> None:
    calls: list[str] = []

    class Probe(HttpToolsProtocol):
        def on_message_begin(self) -> None:
            calls.append("begin")
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            calls.append("headers")
            super().on_headers_complete()

    made = protocol(Probe, LIMITS)
    made.data_received(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
    await asyncio.sleep(0)
    made.connection_lost(None)
    said = "httptools calls on_message_begin, then on_headers_complete (MagicStack/httptools#87)"
    relied_on(calls == ["begin", "headers"], said, LIMITS)


def test_uvicorn_takes_a_protocol_class_and_has_no_setting_for_these_limits() -> None:
    class Probe(H11Protocol):
        pass

    config = uvicorn.Config(ok_app, http=Probe, lifespan="off", log_config=None, ws="none")
    config.load()
    said = "uvicorn.Config(http=<a protocol class>) runs that class (web/cli.py's serve)"
    relied_on(config.http_protocol_class is Probe, said, LIMITS)
    known = {"headers", "server_header", "date_header", "proxy_headers"}
    pattern = r"header|request_start|timeout_request|max_connections"
    new = {name for name in params(uvicorn.Config.__init__) if re.search(pattern, name)} - known
    relied_on(not new, f"uvicorn.Config has new settings {sorted(new)}: one may do it", LIMITS)


# --- upload_memory: UploadFile's max_spool_size default ---------------------------------------


def test_upload_file_takes_max_spool_size_as_a_defaulted_positional_argument() -> None:
    init = UploadFile.__init__
    parameter = inspect.signature(init).parameters.get("max_spool_size")
    defaulted = [p for p in inspect.signature(init).parameters.values() if p.default is not p.empty]
    relied_on(
        parameter is not None
        and parameter.kind is parameter.POSITIONAL_OR_KEYWORD
        and isinstance(parameter.default, int)
        and len(init.__defaults__ or ()) == len(defaulted),
        "UploadFile.__init__(..., max_spool_size: int = ONE_MEGABYTE), its default in "
        "__defaults__ (keep_uploads_in_memory rewrites it there)",
        UPLOADS,
    )
    upload = UploadFile("text/plain", "a.txt", max_spool_size=8)
    with upload.file:
        upload.file.write(b"12345678")
        in_memory = not upload.rolled_to_disk
        upload.file.write(b"9")
        rolled = upload.rolled_to_disk
    said = "UploadFile keeps max_spool_size bytes in memory, then rolls to disk"
    relied_on(in_memory and rolled, said, UPLOADS)


@post("/upload")
async def rolled_to_disk(
    data: Annotated[UploadFile, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> dict[str, bool]:
    return {"rolled": data.rolled_to_disk}


def test_the_form_parser_leaves_the_spool_size_to_its_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    defaults = list(UploadFile.__init__.__defaults__ or ())
    monkeypatch.setattr(UploadFile.__init__, "__defaults__", (*defaults[:-1], 16))
    with TestClient(Litestar([rolled_to_disk])) as client:
        answer = client.post("/upload", files={"data": ("a.bin", b"x" * 1024)})
    said = f"the form parser makes UploadFile without max_spool_size: got {answer.text}"
    relied_on(answer.json() == {"rolled": True}, said, UPLOADS)
    new = [name for name in params(Litestar.__init__) + params(Body) if "spool" in name]
    relied_on(not new, f"Litestar has a spool-size setting {new}: use it instead", UPLOADS)


# --- sessions: the server-side session backend ------------------------------------------------


class ProbeBackend(ServerSideSessionBackend):
    def get_session_id(self, connection: Any) -> str:
        return "probe-id"


@dataclass
class ProbeConfig(ServerSideSessionConfig):
    _backend_class = ProbeBackend


@get("/{action:str}")
async def use_session(request: Request[Any, Any, Any], action: FromPath[str]) -> None:
    if action == "set":
        request.set_session({"a": 1})
    elif action == "clear":
        request.clear_session()


def session_app() -> tuple[Litestar, MemoryStore]:
    config = ProbeConfig()
    said = "ServerSideSessionConfig.middleware builds its backend from `_backend_class`"
    relied_on(isinstance(config.middleware.kwargs["backend"], ProbeBackend), said, SESSIONS)
    app = Litestar([use_session], middleware=[config.middleware])
    store = MemoryStore()
    app.stores.register("sessions", store)
    return app, store


def test_session_backend_methods_keep_their_signatures() -> None:
    expected = {
        "get_session_id": ["self", "connection"],
        "store_in_message": ["self", "scope_session", "message", "connection"],
        "load_from_connection": ["self", "connection"],
        "delete": ["self", "session_id", "store"],
    }
    same_params(ServerSideSessionBackend, expected, SESSIONS)


def test_the_backend_writes_under_get_session_id_and_stores_empty_sessions() -> None:
    app, store = session_app()
    with TestClient(app) as client, client.portal() as portal:
        first = client.get("/leave")
        stored_empty = portal.call(store.get, "probe-id")
        client.get("/set")
        stored = portal.call(store.get, "probe-id") or b""
        cleared = client.get("/clear")
        after_clear = portal.call(store.get, "probe-id")
    relied_on(
        first.cookies.get("session") == "probe-id" and stored_empty == b"{}",
        "Litestar stores an empty session, a row and a cookie per anonymous request (our "
        "store_in_message returns early: drop that if upstream no longer does)",
        SESSIONS,
    )
    said = "store_in_message writes under self.get_session_id(connection) (renew_session_id)"
    relied_on(b'"a":1' in stored.replace(b" ", b""), said, SESSIONS)
    relied_on(
        after_clear is None and "session=null;" in cleared.headers.get("set-cookie", ""),
        "store_in_message deletes the row and clears the cookie for an Empty session",
        SESSIONS,
    )


@pytest.mark.anyio
async def test_load_from_connection_reads_a_raw_scope_and_writes_nothing() -> None:
    app, store = session_app()
    await store.set("probe-id", b'{"x": 1}')
    scope: Any = {"type": "http", "headers": [(b"cookie", b"session=probe-id")], "app": app}
    scope["state"] = {}
    loaded = await ProbeBackend(ProbeConfig()).load_from_connection(ASGIConnection(scope))
    said = "load_from_connection(ASGIConnection(raw scope)) reads the session (read_session)"
    relied_on(loaded == {"x": 1} and "session" not in scope, said, SESSIONS)
    names = [f.name for f in fields(ServerSideSessionConfig)] + dir(ServerSideSessionBackend)
    new = [n for n in names if re.search(r"empty|regenerat|rotate|renew_(session_)?id", n)]
    relied_on(not new, f"Litestar's sessions have {new}: they may do our backend's job", SESSIONS)


# --- csrf_token: the CSRF middleware's token --------------------------------------------------


def test_the_csrf_token_is_a_secret_and_its_signature() -> None:
    token, secret = generate_csrf_token("s" * 32), "s" * 32
    half, signature = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
    relied_on(
        params(generate_csrf_token) == ["secret"]
        and params(generate_csrf_hash) == ["token", "secret"]
        and signature == generate_csrf_hash(token=half, secret=secret),
        "generate_csrf_token(secret) is CSRF_SECRET_LENGTH characters, then "
        "generate_csrf_hash(token=those, secret) (page_token checks a cookie so)",
        CSRF,
    )


def test_the_templates_read_the_token_from_scope_state() -> None:
    scope: Any = {"type": "http", "headers": [], "state": {}, "app": Litestar()}
    ScopeState.from_scope(scope).csrf_token = "the-token"
    said = "the templates' csrf_token() reads ScopeState.from_scope(scope).csrf_token"
    relied_on(csrf_token({"request": Request(scope)}) == "the-token", said, CSRF)


# --- litestar_entry: Litestar.__call__ for the /events stream ---------------------------------


@pytest.mark.anyio
async def test_litestar_enters_a_request_as_enter_app_does_and_runs_its_hooks() -> None:
    heard: list[str] = []
    seen: dict[str, Any] = {}

    async def hook(message: Any, scope: Any) -> None:
        heard.append(f"hook {message['type']} {scope['path']}")

    async def handler(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def sent(message: Any) -> None:
        heard.append("sent")

    app = Litestar(before_send=[hook])
    app.asgi_handler = handler  # type: ignore[method-assign,assignment]
    raw: Any = {"type": "http", "path": "/events", "headers": []}
    await app(dict(raw), None, sent)  # type: ignore[arg-type]
    enter_app(raw, app)
    relied_on(
        seen == raw and heard == ["hook http.response.start /events", "sent"],
        "Litestar.__call__ sets scope app, litestar_app and state (as enter_app does), then "
        "runs each of app.before_send as hook(message, scope) before a message is sent",
        ENTRY,
    )
    heard.clear()
    await run_before_send({"type": "http.response.start", "status": 200, "headers": []}, raw)
    said = "app.before_send holds the hooks, awaitable as hook(message, scope)"
    relied_on(heard == ["hook http.response.start /events"], said, ENTRY)


# --- send_at_once: uvicorn's send of a body suspends only while the socket is paused ---------

SEND_AT_ONCE = Override(
    "send_at_once", "uvicorn/protocols/http/*_impl.py RequestResponseCycle.send (flow.drain)"
)


@pytest.mark.anyio
@pytest.mark.parametrize("cls", [H11Protocol, HttpToolsProtocol])
async def test_uvicorn_sends_a_body_at_once_unless_the_socket_is_paused(cls: type[Any]) -> None:
    sends: list[Any] = []
    written: list[bytes] = []
    done = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        sends.append(send)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await done.wait()
        await send({"type": "http.response.body", "body": b""})

    class Recording(Transport):
        def write(self, data: Any) -> None:
            written.append(bytes(data))

    config = uvicorn.Config(app, lifespan="off", log_config=None, ws="none")
    made = cls(config, ServerState(), {}, _loop=asyncio.get_running_loop())
    made.connection_made(Recording())
    made.data_received(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
    for _ in range(5):
        await asyncio.sleep(0)
    body = {"type": "http.response.body", "body": b"frame", "more_body": True}
    written.clear()
    at_once = can_send_at_once(sends[0]) and send_at_once(sends[0], body)
    at_once = at_once and b"frame" in b"".join(written)
    written.clear()
    made.pause_writing()
    held = not send_at_once(sends[0], body) and not written
    made.resume_writing()
    done.set()
    for _ in range(5):
        await asyncio.sleep(0)
    made.connection_lost(None)
    relied_on(
        at_once and held,
        f"{cls.__name__}: a response cycle's `send` of a body runs to its end without awaiting "
        "unless the transport paused writing, and then awaits the drain before writing anything",
        SEND_AT_ONCE,
    )


# --- worker_config: the config uvicorn's supervisor pickles into each worker -------------------


def test_uvicorn_workers_are_spawned_with_the_config_which_they_load_before_serving() -> None:
    relied_on(
        params(Multiprocess.__init__) == ["self", "config", "sockets"],
        "uvicorn.supervisors.Multiprocess(config, sockets) runs the workers",
        WORKERS,
    )
    from uvicorn import _subprocess

    spawned = isinstance(_subprocess.spawn, type(multiprocessing.get_context("spawn")))
    said = "uvicorn starts its workers with spawn (the config pickled into each)"
    relied_on(spawned, said, WORKERS)
    loads = "config.load()" in inspect.getsource(uvicorn.Server._serve)
    relied_on(loads, "uvicorn.Server calls config.load() in the worker before serving", WORKERS)
    keeps = getattr(Multiprocess, "keep_subprocess_alive", None)
    said = "Multiprocess replaces a worker that died, and stops when one exits STARTUP_FAILURE"
    relied_on(keeps is not None and "STARTUP_FAILURE" in inspect.getsource(keeps), said, WORKERS)
