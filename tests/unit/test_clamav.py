"""Virus scanning against a real clamd, started here with one signature written by the test.

Debian's `clamav-daemon` provides clamd; without it the tests that need it skip, saying so. The
official signature database is not needed: a body signature matches a marker string.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlmodel import Session, select

from db.models import AuditLog, ProfilePicture
from tests.forms import HX, redirected, upload
from tests.html import one
from tests.images import commented_jpeg, jpeg
from tests.ports import free_port
from tests.unit.test_suggest_crop import suggest
from web.services.clamav import ScanFailed, scan
from web.settings import Settings

MARKER = b"PPSYNC-TEST-MARKER-7f3a9c"
SIGNATURE = "PPSyncTestMarker.UNOFFICIAL"  # clamd suffixes names from an unsigned database
MISSING = "/nonexistent/ppsync-clamd.sock"


@dataclass(frozen=True)
class Clamd:
    socket: str
    tcp: str


def _clamd_binary() -> str | None:
    return shutil.which("clamd") or shutil.which("clamd", path="/usr/sbin:/sbin")


def _pong(path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(1)
            conn.connect(str(path))
            conn.sendall(b"zPING\0")
            return conn.recv(16) == b"PONG\0"
    except OSError:
        return False


@pytest.fixture(scope="module")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clamd]:
    binary = _clamd_binary()
    if binary is None:
        pytest.skip("clamd is not installed (Debian: apt-get install clamav-daemon)")
    tmp = tmp_path_factory.mktemp("clamd")
    (tmp / "db").mkdir()
    (tmp / "db" / "test.ndb").write_text(f"PPSyncTestMarker:0:*:{MARKER.hex()}\n")
    port = free_port()
    config = tmp / "clamd.conf"
    config.write_text(
        f"LocalSocket {tmp / 'clamd.sock'}\nTCPSocket {port}\nTCPAddr 127.0.0.1\n"
        f"DatabaseDirectory {tmp / 'db'}\nForeground yes\nLogFile {tmp / 'clamd.log'}\n"
        f"PidFile {tmp / 'clamd.pid'}\nStreamMaxLength 20M\n"
    )
    proc = subprocess.Popen(
        [binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 30
        while not _pong(tmp / "clamd.sock"):
            log = tmp / "clamd.log"
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"clamd did not start:\n{log.read_text() if log.exists() else ''}")
            time.sleep(0.05)
        yield Clamd(socket=str(tmp / "clamd.sock"), tcp=f"tcp://127.0.0.1:{port}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_clean_jpeg_is_none(clamd: Clamd) -> None:
    assert scan(jpeg(), socket_path=clamd.socket) is None


def test_jpeg_with_the_marker_is_the_signature_name(clamd: Clamd) -> None:
    assert scan(commented_jpeg(MARKER), socket_path=clamd.socket) == SIGNATURE


def test_marker_past_the_first_chunk_is_found(clamd: Clamd) -> None:
    data = jpeg() + bytes(200_000) + MARKER  # INSTREAM sends 64 KiB chunks
    assert scan(data, socket_path=clamd.socket) == SIGNATURE


def test_scan_over_tcp_finds_the_marker(clamd: Clamd) -> None:
    assert scan(commented_jpeg(MARKER), socket_path=clamd.tcp) == SIGNATURE
    assert scan(jpeg(), socket_path=clamd.tcp) is None


def test_stream_over_clamd_limit_is_scan_failed(clamd: Clamd) -> None:
    with pytest.raises(ScanFailed, match="size limit exceeded"):
        scan(b"\0" * (21 * 1024 * 1024), socket_path=clamd.socket)


@pytest.mark.parametrize("address", [MISSING, "tcp://localhost", "tcp://localhost:99999"])
def test_unreachable_clamd_is_scan_failed(address: str) -> None:
    with pytest.raises(ScanFailed):
        scan(jpeg(), socket_path=address)


def test_silent_clamd_is_scan_failed(tmp_path: Path) -> None:
    path = str(tmp_path / "silent.sock")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        server.listen()
        with pytest.raises(ScanFailed, match="timed out"):
            scan(jpeg(), socket_path=path, timeout=0.2)


# Through the app: `clamd_socket` is the real clamd, or a parametrized address.


@pytest.fixture
def clamd_socket(clamd: Clamd) -> str:
    return clamd.socket


@pytest.fixture
def settings(settings: Settings, clamd_socket: str) -> Settings:
    return replace(settings, clamd_socket=clamd_socket)


def refusals(db: Session) -> list[tuple[str, str]]:
    rows = db.exec(select(AuditLog).where(AuditLog.outcome == "invalid")).all()
    return [(row.action, row.detail) for row in rows]


def test_infected_upload_is_422_audited_and_stores_nothing(
    client: TestClient[Any], db: Session, member: int
) -> None:
    in_place = upload(client, commented_jpeg(MARKER), headers=HX)
    assert in_place.status_code == 422
    after = redirected(client, upload(client, commented_jpeg(MARKER)))  # post/redirect/get
    for page in (in_place, after):
        message = one(page.text, "#upload-error").get_text(strip=True)
        assert message == "This file was flagged by the virus scanner and was not stored."
    assert db.exec(select(ProfilePicture)).all() == []
    assert refusals(db) == [("picture.upload", "infected")] * 2


def test_clean_upload_is_scanned_and_stored(
    client: TestClient[Any], db: Session, member: int
) -> None:
    response = upload(client, jpeg())
    assert response.status_code == 303
    assert [p.version for p in db.exec(select(ProfilePicture)).all()] == [1]


@pytest.mark.parametrize("clamd_socket", [MISSING])
def test_upload_while_scanner_is_down_is_503_and_stores_nothing(
    client: TestClient[Any], db: Session, member: int
) -> None:
    response = upload(client, jpeg(), headers=HX)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "30"
    assert "virus scanner is unavailable" in one(response.text, "#upload-error").get_text()
    assert db.exec(select(ProfilePicture)).all() == []
    assert refusals(db) == [("picture.upload", "scan_unavailable")]


def test_crop_suggestion_of_an_infected_file_is_refused_like_its_upload(
    client: TestClient[Any], db: Session, member: int
) -> None:
    response = suggest(client, commented_jpeg(MARKER))
    assert response.status_code == 422
    assert response.json() == {
        "error": "This file was flagged by the virus scanner and was not stored."
    }


@pytest.mark.parametrize("clamd_socket", [MISSING])
def test_crop_suggestion_while_scanner_is_down_is_503(client: TestClient[Any], member: int) -> None:
    response = suggest(client, jpeg())
    assert response.status_code == 503
    assert "virus scanner is unavailable" in response.json()["error"]
