"""End-to-end fixtures: real `ppsync serve` processes on free ports, real Chromium.

Servers. `server` is one process per test module, shared by the module's tests; each test makes
members of its own (`alice`, `bob`, `Server.new_member`: unique handles), so the tests stay
independent and any order or split (pytest-xdist) holds. A module whose server needs settings
overrides the module-scoped `server_env` fixture (it may be parametrized: one server per value).
A test that restarts, kills or cuts its server, or needs two processes, starts private ones with
`server_factory` or `two_servers`. Every server has its own VAR_DIR (SQLite, media) and sheds the
runner's DATABASE_*/REDIS_* variables: what it shares is only what its env names.

Chromium is launched once per session; every context a test opens is closed after it, so no
stream outlives its test on a shared server (EVENTS_PER_CLIENT counts them per address).
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db import migrate
from db.engine import make_engine
from tests.factories import add_member
from tests.processes import stop_process
from tests.services import fresh_postgres_database, fresh_redis_prefix, redis_url
from web.services.accounts import tokens
from web.services.audit import Actor
from web.settings import FAST_INSECURE_HASHER, Settings

PPSYNC = str(Path(sys.executable).with_name("ppsync"))
# A hang bound: a cold `ppsync serve` took 50 s on a 2-core machine at load 10 (30 s was seen
# to fail there).
START_TIMEOUT_S = 120.0
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# --- Settings the tests' servers run with and bench/'s do not: the one place to add one. ---
# No Argon2 per sign-up; no AVIF encodes after each upload, beside the next tests (the modules
# that test AVIF set AVIF_COPIES=on in their server_env).
TEST_ONLY_ENV: dict[str, str] = {"PASSWORD_HASHER": FAST_INSECURE_HASHER, "AVIF_COPIES": "off"}


def e2e_env(
    var: Path, extra: Mapping[str, str] | None = None, *, test_only: bool = True
) -> dict[str, str]:
    """The environment of a server and of its `ppsync` commands, `extra` winning: the runner's
    own, without its DATABASE_*/REDIS_* variables, with TEST_ONLY_ENV unless `test_only` is
    False (bench/ measures the production settings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    env |= {"VAR_DIR": str(var), "SECRET_KEY": "e2e-" + "s" * 40}
    return env | (TEST_ONLY_ENV if test_only else {}) | dict(extra or {})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


_handles = itertools.count(1)


@dataclass(frozen=True)
class Member:
    id: int
    handle: str
    display_name: str


class Server:
    """One `ppsync serve` process over its own VAR_DIR (database and media, unless `env` names
    shared ones). Members and tokens are made in this process, on the server's database, with
    the services `ppsync user add` and `ppsync token add` call (tests/unit/test_cli.py tests the
    commands themselves): a command would cost an interpreter start each."""

    def __init__(
        self,
        var: Path,
        env: Mapping[str, str] | None = None,
        *,
        test_only: bool = True,
        serve_args: Sequence[str] = (),
    ) -> None:
        self.var = var
        self.serve_args = list(serve_args)  # beside --port: `--workers 2`
        self.env = e2e_env(var, env, test_only=test_only)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self._engine: Engine | None = None

    @property
    def database_url(self) -> str:
        return Settings.from_env(self.env).database_url

    def session(self) -> Session:
        if self._engine is None:
            self._engine = make_engine(self.database_url)
        return Session(self._engine, expire_on_commit=False)

    def add_member(self, handle: str, display_name: str = "") -> int:
        with self.session() as db:
            return add_member(db, handle, display_name)

    def new_member(self, name: str, display_name: str = "") -> Member:
        """A member with a handle no other test uses (`alice-7`)."""
        handle = f"{name}-{next(_handles)}"
        return Member(self.add_member(handle, display_name), handle, display_name)

    def token(self, user_id: int, name: str = "e2e") -> str:
        """An API token for the member, issued as `ppsync token add` issues it."""
        with self.session() as db:
            return tokens.issue_token(db, actor=Actor(None), name=name, user_id=user_id)

    def ppsync(self, *args: str, stdin: str = "") -> str:
        """A `ppsync` command on this server's settings; its output's last line."""
        result = subprocess.run(
            [PPSYNC, *args], input=stdin, env=self.env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""

    def start(self) -> Server:
        migrate.upgrade(self.database_url)
        for _attempt in range(3):
            if self._serve():
                return self
            # Another process (an xdist worker) took the free port first: take another.
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
        raise RuntimeError(f"server did not start: {self.log()}")

    def _serve(self) -> bool:
        """Start the process; True once /healthz answers, False if the port was taken."""
        with (self.var / "server.log").open("ab") as log:
            self.process = subprocess.Popen(
                [PPSYNC, "serve", "--port", str(self.port), *self.serve_args],
                env=self.env,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):
                    return True
            except OSError:
                if self.process.poll() is not None:
                    assert "address already in use" in self.log(), self.log()
                    return False
                time.sleep(0.1)
        self.stop()  # not left running behind the failed test
        raise RuntimeError(f"server did not start in {START_TIMEOUT_S:.0f} s: {self.log()}")

    def log(self) -> str:
        return (self.var / "server.log").read_text()

    def log_lines(self, containing: str) -> list[str]:
        """The server's log lines (one JSON object per request) that contain `containing`."""
        return [line for line in self.log().splitlines() if containing in line]

    def restart(self) -> Server:
        """Stop and start again on the same port and database: open tabs must reconnect."""
        self.stop()
        assert self._serve(), f"port {self.port} was taken during the restart"
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            stop_process(self.process)
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


@contextmanager
def running(var: Path, env: Mapping[str, str] | None = None) -> Iterator[Server]:
    """A started server, stopped on leaving."""
    started = Server(var, env).start()
    try:
        yield started
    finally:
        started.stop()


@contextmanager
def two_servers(tmp_path: Path, env: Mapping[str, str]) -> Iterator[tuple[Server, Server]]:
    """Two processes, as on two hosts, sharing what `env` names (database, Redis, media)."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with running(tmp_path / "a", env) as first, running(tmp_path / "b", env) as second:
        yield first, second


@pytest.fixture
def shared_services(tmp_path: Path) -> Iterator[dict[str, str]]:
    """What two servers share as two hosts do: a fresh PostgreSQL database, Redis under a fresh
    prefix, one media folder (the tests that take it are marked postgres and redis)."""
    redis = redis_url()
    with fresh_postgres_database() as database:
        yield {
            "DATABASE_URL": database,
            "REDIS_URL": redis,
            "REDIS_PREFIX": fresh_redis_prefix(),
            "MEDIA_ROOT": str(tmp_path / "media"),
        }


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    """The settings of this module's `server` beyond `e2e_env()`'s: override in a module."""
    return {}


@pytest.fixture(scope="module")
def server(
    server_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The module's server, shared by its tests."""
    with running(tmp_path_factory.mktemp("server"), server_env) as started:
        yield started


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """`server_factory(env={...}, start=True, serve_args=[...])`: a private server for this
    test, over a folder of its own; stopped after the test."""
    made: list[Server] = []

    def make(
        env: Mapping[str, str] | None = None, *, start: bool = True, serve_args: Sequence[str] = ()
    ) -> Server:
        var = tmp_path / f"server{len(made)}"
        var.mkdir()
        made.append(Server(var, env, serve_args=serve_args))
        return made[-1].start() if start else made[-1]

    yield make
    for each in made:
        each.stop()


@pytest.fixture
def alice(server: Server) -> Member:
    return server.new_member("alice", "Alice Liddell")


@pytest.fixture
def bob(server: Server) -> Member:
    return server.new_member("bob", "Bob Marley")


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def chromium(playwright: Playwright) -> Iterator[Browser]:
    executable = os.environ.get("PLAYWRIGHT_CHROMIUM") or shutil.which("chromium")
    headless = os.environ.get("HEADED") != "1"  # HEADED=1: watch the browser (docs/testing.md)
    launched = playwright.chromium.launch(
        executable_path=executable, args=CHROMIUM_ARGS, headless=headless
    )
    yield launched
    launched.close()


@pytest.fixture
def browser(chromium: Browser) -> Iterator[Browser]:
    """The session's Chromium; the contexts (and their pages' streams) the test opened are
    closed after it."""
    yield chromium
    for context in chromium.contexts:
        context.close()


class ConsoleErrors(list[str]):
    """Errors the page logs (CSP violations, failed scripts); a test expects none."""

    def watch(self, page: Page) -> Page:
        def keep(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.append(message.text)

        page.on("console", keep)
        page.on("pageerror", lambda error: self.append(str(error)))
        return page


@pytest.fixture
def console_errors() -> ConsoleErrors:
    return ConsoleErrors()
