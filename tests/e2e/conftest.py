"""End-to-end fixtures: the real server in a subprocess on a free port, real Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from tests.factories import PASSWORD
from web.settings import FAST_INSECURE_HASHER

PPSYNC = str(Path(sys.executable).with_name("ppsync"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """One `ppsync serve` process over its own database and media folder."""

    def __init__(self, var: Path, env: dict[str, str] | None = None) -> None:
        self.var = var
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))
        }
        self.env["PASSWORD_HASHER"] = FAST_INSECURE_HASHER  # no Argon2 per sign-up (issue 22)
        self.env |= {"VAR_DIR": str(var), "SECRET_KEY": "e2e-" + "s" * 40} | (env or {})
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def ppsync(self, *args: str, stdin: str = "") -> str:
        result = subprocess.run(
            [PPSYNC, *args], input=stdin, env=self.env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""

    def add_member(self, handle: str, display_name: str = "") -> int:
        return int(
            self.ppsync("user", "add", handle, "--display-name", display_name, stdin=PASSWORD)
        )

    def start(self) -> Server:
        self.ppsync("db", "upgrade")
        with (self.var / "server.log").open("ab") as log:
            self.process = subprocess.Popen(
                [PPSYNC, "serve", "--port", str(self.port)], env=self.env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):
                    return self
            except OSError:
                assert self.process.poll() is None, (self.var / "server.log").read_text()
                time.sleep(0.1)
        raise RuntimeError(f"server did not start: {(self.var / 'server.log').read_text()}")

    def log_lines(self, containing: str) -> list[str]:
        """The server's log lines (one JSON object per request) that contain `containing`."""
        text = (self.var / "server.log").read_text()
        return [line for line in text.splitlines() if containing in line]

    def restart(self) -> Server:
        """Stop and start again on the same port and database: open tabs must reconnect."""
        self.stop()
        return self.start()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path).start()
    yield running
    running.stop()


@contextmanager
def two_servers(tmp_path: Path, env: dict[str, str]) -> Iterator[tuple[Server, Server]]:
    """Two processes, as on two hosts, sharing what `env` names (database, Redis, media)."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = Server(tmp_path / "a", env).start()
    try:
        second = Server(tmp_path / "b", env).start()
        try:
            yield first, second
        finally:
            second.stop()
    finally:
        first.stop()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    executable = os.environ.get("PLAYWRIGHT_CHROMIUM") or shutil.which("chromium")
    headless = os.environ.get("HEADED") != "1"  # HEADED=1: watch the browser (docs/testing.md)
    launched = playwright.chromium.launch(
        executable_path=executable, args=CHROMIUM_ARGS, headless=headless
    )
    yield launched
    launched.close()


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


def log_in(page: Page, server: Server, handle: str) -> None:
    page.goto(f"{server.url}/login")
    page.get_by_label("Handle").fill(handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server.url}/profile")


@pytest.fixture
def alice(server: Server) -> int:
    return server.add_member("alice", "Alice Liddell")


def api(server: Server, token: str) -> httpx.Client:
    """An API client of the server, acting with `token`."""
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
