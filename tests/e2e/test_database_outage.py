"""PostgreSQL cut off through a real TCP proxy under a running server, then brought back.

While cut: pages answer a 503 page and the API a 503 problem, both with Retry-After, logged as
one WARNING line; an upload cut at its INSERT leaves no row and no file. After the restore the
same requests answer 200 from the same process (pool_pre_ping replaces the dead connections).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from bs4 import BeautifulSoup
from sqlalchemy.engine import make_url

from tests import images
from tests.e2e.conftest import Server, running
from tests.services import fresh_postgres_database
from tests.tcp_proxy import TcpProxy
from web.errors import DATABASE_DOWN as SENTENCE
from web.plumbing.replies import RETRY_AFTER_DATABASE as RETRY_AFTER_S


@dataclass
class Outage:
    server: Server
    proxy: TcpProxy
    direct_url: str  # the database itself, not through the proxy
    member: int
    token: str

    def api(self) -> httpx.Client:
        auth = {"Authorization": f"Bearer {self.token}"}
        return httpx.Client(base_url=self.server.url, headers=auth, timeout=30)

    def count(self, sql: str) -> int:
        conninfo = make_url(self.direct_url).set(drivername="postgresql")
        with psycopg.connect(conninfo.render_as_string(hide_password=False)) as conn:
            row = conn.execute(sql, (self.member,)).fetchone()
        assert row is not None
        return int(row[0])


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outage]:
    with fresh_postgres_database() as url:
        parsed = make_url(url)
        proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432).start()
        proxied = parsed.set(host="127.0.0.1", port=proxy.port)
        env = {"DATABASE_URL": proxied.render_as_string(hide_password=False)}
        try:
            with running(tmp_path_factory.mktemp("outage"), env) as server:
                member = server.add_member("alice", "Alice Liddell")
                yield Outage(server, proxy, url, member, server.token(member))
        finally:
            proxy.stop()


@pytest.fixture
def cut(outage: Outage) -> Iterator[Outage]:
    outage.proxy.cut()
    try:
        yield outage
    finally:
        outage.proxy.restore()


def test_page_answers_503_page_with_retry_after_while_cut(cut: Outage) -> None:
    response = httpx.get(f"{cut.server.url}/members", timeout=30)
    assert response.status_code == 503
    assert response.headers["retry-after"] == str(RETRY_AFTER_S)
    assert response.headers["content-type"].startswith("text/html")
    page = BeautifulSoup(response.text, "html.parser")
    assert page.find(attrs={"role": "alert"}).get_text(strip=True) == SENTENCE
    assert page.find("header", class_="site-header") is not None  # the site's own template


def test_api_answers_503_problem_with_retry_after_while_cut(cut: Outage) -> None:
    with cut.api() as api:
        response = api.get(f"/api/profile/picture/{cut.member}")
    assert response.status_code == 503
    assert response.headers["retry-after"] == str(RETRY_AFTER_S)
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "status": 503,
        "title": "Service Unavailable",
        "detail": SENTENCE,
    }


def test_outage_is_logged_once_per_request_without_traceback(cut: Outage) -> None:
    log = cut.server.var / "server.log"
    before = log.read_text()
    assert httpx.get(f"{cut.server.url}/members", timeout=30).status_code == 503
    new = _new_lines_once(log, len(before), "database unavailable: GET /members")
    warnings = [line for line in new if "database unavailable: GET /members" in line]
    assert len(warnings) == 1
    assert warnings[0].startswith("WARNING")
    # The only tracebacks allowed are the live hub's timer's, not this request's.
    for i, line in enumerate(new):
        if line.startswith("Traceback"):
            assert i > 0 and "ppsync.live" in new[i - 1], "\n".join(new)


def test_requests_answer_200_after_restore_without_restart(outage: Outage) -> None:
    outage.proxy.cut()
    assert httpx.get(f"{outage.server.url}/members", timeout=30).status_code == 503
    outage.proxy.restore()
    assert httpx.get(f"{outage.server.url}/members", timeout=30).status_code == 200
    with outage.api() as api:
        assert api.get(f"/api/profile/picture/{outage.member}").status_code == 200
    assert outage.server.process is not None and outage.server.process.poll() is None


def test_upload_cut_at_its_insert_leaves_no_row_and_no_file(outage: Outage) -> None:
    cuts = outage.proxy.cuts
    outage.proxy.cut_when_sent(b"INSERT INTO profile_pictures")
    try:
        with outage.api() as api:
            response = api.post(
                "/api/profile/upload-picture",
                data={"userId": str(outage.member)},
                files={"profilePicture": ("me.jpg", images.jpeg(), "image/jpeg")},
            )
    finally:
        outage.proxy.restore()
    assert outage.proxy.cuts == cuts + 1  # cut mid-upload: after the files, at the INSERT
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    query = "SELECT count(*) FROM profile_pictures WHERE user_id = %s"
    assert outage.count(query) == 0
    media = outage.server.var / "media"
    assert _files(media) == []


def _new_lines_once(log: Path, offset: int, expected: str, timeout: float = 10.0) -> list[str]:
    """The log's lines past `offset` once one contains `expected` (logging is queued, so the
    line may land just after the response)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = log.read_text()[offset:].splitlines()
        if any(expected in line for line in lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def _files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []
