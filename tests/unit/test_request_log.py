"""The request log records the status the client received, whoever made the answer."""

from __future__ import annotations

import os
from dataclasses import replace

from litestar import Litestar
from litestar.testing import TestClient

from tests.conftest import Lines
from tests.factories import jpeg
from tests.forms import csrf, log_in
from web.app import create_app
from web.settings import Settings


def test_a_page_is_logged_with_its_status_and_duration(
    client: TestClient[Litestar], lines: Lines
) -> None:
    client.get("/login")
    (record,) = [r for r in lines.records if r["path"] == "/login"]
    assert record["status"] == 200 and record["method"] == "GET"
    assert isinstance(record["ms"], float) and record["ms"] >= 0


def test_a_line_names_the_process_that_answered(client: TestClient[Litestar], lines: Lines) -> None:
    client.get("/login")  # `ppsync serve --workers N`: which of the N answered
    (record,) = [r for r in lines.records if r["path"] == "/login"]
    assert record["pid"] == os.getpid()


def test_a_csrf_refusal_is_logged_as_403_not_500(
    client: TestClient[Litestar], lines: Lines
) -> None:
    response = client.post("/login", data={"handle": "x", "password": "y"})
    assert response.status_code == 403
    assert lines.status_of("POST", "/login") == [403]


def test_an_unknown_path_is_logged_as_404(client: TestClient[Litestar], lines: Lines) -> None:
    assert client.get("/no/such/page").status_code == 404
    assert lines.status_of("GET", "/no/such/page") == [404]


def test_the_body_limit_and_the_rate_limit_are_logged_as_413_and_429(
    settings: Settings, alice: int, lines: Lines
) -> None:
    small = replace(settings, max_upload_bytes=2000, uploads_per_minute=1)
    with TestClient(create_app(small)) as client:
        log_in(client, "alice")
        for data in (b"x" * 200_000, jpeg(), jpeg()):
            client.post(
                "/profile/picture",
                files={"profilePicture": ("a.jpg", data, "image/jpeg")},
                data={"_csrf_token": csrf(client)},
                headers={"HX-Request": "true"},  # answered in place, with the status
            )
    statuses = lines.status_of("POST", "/profile/picture")
    assert 413 in statuses and 429 in statuses and 500 not in statuses
