"""Every 500 leaves its traceback in the log under a short id, and the client is shown that id
(a page, or problem+json under /api/), never the traceback (web/errors.py,
web/plumbing/logs.py)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlmodel import Session

from tests.api_support import bearer, make_token
from tests.conftest import Lines
from tests.html import one


class Failures(logging.Handler):
    """What the error log (`ppsync.error`) writes: each record formatted, traceback included."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.format(record))


@pytest.fixture
def failures() -> Iterator[Failures]:
    handler = Failures()
    logger = logging.getLogger("ppsync.error")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def _break_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug deep in the directory")

    monkeypatch.setattr("web.services.accounts.directory.page", broken)


def _logged(failures: Failures, error_id: str) -> str:
    (text,) = [t for t in failures.texts if t.startswith(f"error {error_id}:")]
    return text


def test_a_page_that_fails_shows_the_id_of_its_logged_traceback(
    client: TestClient[Any], failures: Failures, lines: Lines, monkeypatch: pytest.MonkeyPatch
) -> None:
    _break_directory(monkeypatch)
    response = client.get("/members")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    error_id = one(response.text, "[data-error-id]").get_text()
    assert re.fullmatch(r"[0-9a-f]{8}", error_id)
    logged = _logged(failures, error_id)
    assert "Traceback (most recent call last)" in logged
    assert "RuntimeError: a bug deep in the directory" in logged
    assert "a bug deep" not in response.text and "Traceback" not in response.text
    (line,) = [r for r in lines.records if r["path"] == "/members"]
    assert (line["status"], line["error"]) == (500, error_id)


def test_an_api_call_that_fails_answers_the_id_of_its_logged_traceback(
    client: TestClient[Any],
    db: Session,
    alice: int,
    failures: Failures,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug deep in the reads")

    monkeypatch.setattr("web.services.pictures.reads.read", broken)
    response = client.get(f"/api/profile/picture/{alice}", headers=bearer(make_token(db, alice)))
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["errorId"] in body["detail"]
    assert "RuntimeError: a bug deep in the reads" in _logged(failures, body["errorId"])


def test_two_failures_get_two_ids(
    client: TestClient[Any], failures: Failures, monkeypatch: pytest.MonkeyPatch
) -> None:
    _break_directory(monkeypatch)
    first, second = (one(client.get("/members").text, "[data-error-id]") for _ in range(2))
    assert first.get_text() != second.get_text()
    assert len(failures.texts) == 2


def test_a_newline_in_the_path_cannot_forge_a_log_line(
    client: TestClient[Any], failures: Failures, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("web.services.accounts.members.member_by_handle", broken)
    assert client.get("/members/x%0aerror%2000000000:%20forged").status_code == 500
    (text,) = failures.texts
    assert "\nerror 00000000" not in text


def test_a_stream_that_fails_to_open_names_its_logged_traceback(
    client: TestClient[Any], failures: Failures, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/events runs outside Litestar's handlers (web/app.py's front door): the same rule."""

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in the stream's opening")

    monkeypatch.setattr("web.live.events._register", broken)
    response = client.get("/events")
    assert response.status_code == 500
    logged = _logged(failures, response.headers["x-error-id"])
    assert "RuntimeError: a bug in the stream's opening" in logged
