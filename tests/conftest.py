"""Fixtures for the unit tests: an app built by the factory over a temporary SQLite file."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlmodel import Session

from db import migrate
from tests.factories import PASSWORD, add_member
from tests.seaweed import REGION, S3Server, seaweed
from web.app import create_app
from web.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'app.db'}",
        media_root=tmp_path / "media",
        var_dir=tmp_path,
        secret_key="test-secret-" + "x" * 40,
    )


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One SeaweedFS for the whole run; each test gets a bucket of its own (`s3_settings`)."""
    try:
        with seaweed(tmp_path_factory.mktemp("seaweed")) as server:
            yield server
    except RuntimeError as error:
        pytest.skip(f"no S3 server for the object-storage tests: {error}")


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The AWS_* variables of the test server, in this process's environment."""
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    return s3_server


@pytest.fixture
def s3_settings(settings: Settings, s3_env: S3Server) -> Settings:
    """The unit tests' settings with MEDIA_STORE a fresh bucket (MEDIA_ROOT stays unused)."""
    s3_server = s3_env
    return replace(
        settings,
        media_store=f"s3://{s3_server.new_bucket()}/site",
        aws_endpoint_url=s3_server.endpoint,
        aws_region=REGION,
    )


@pytest.fixture
def app(settings: Settings) -> Litestar:
    migrate.upgrade(settings.database_url)
    return create_app(settings)


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def db(app: Litestar) -> Iterator[Session]:
    with Session(app.state["engine"], expire_on_commit=False) as session:
        yield session


def csrf(client: TestClient[Any]) -> str:
    """A CSRF token for form posts: fetch a page to get the cookie, echo it back."""
    client.get("/login")
    token = client.cookies.get("csrftoken")
    assert token
    return token


def log_in(client: TestClient[Any], handle: str, password: str = PASSWORD) -> None:
    response = client.post(
        "/login",
        data={"handle": handle, "password": password, "_csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


@pytest.fixture
def alice(db: Session) -> int:
    return add_member(db, "alice", "Alice Liddell")


class Lines(logging.Handler):
    """The request log's JSON lines (web/logs.py), as a test reads them."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(json.loads(record.getMessage()))

    def status_of(self, method: str, path: str) -> list[int]:
        return [r["status"] for r in self.records if (r["method"], r["path"]) == (method, path)]


@pytest.fixture
def lines() -> Iterator[Lines]:
    handler = Lines()
    logger = logging.getLogger("ppsync.request")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)
