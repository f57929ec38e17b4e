"""Fixtures for the unit tests: an app built by the factory over a temporary SQLite file, a
copy of one migrated once per session (per xdist worker), and the members the tests sign in as."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy.engine import make_url
from sqlmodel import Session

from db import migrate
from tests.api_support import make_token
from tests.factories import add_member
from tests.forms import log_in
from tests.private_redis import PrivateRedis, private_redis
from tests.seaweed import REGION, S3Server, seaweed
from web.app import create_app
from web.services.accounts import passwords
from web.settings import FAST_INSECURE_HASHER, Settings

Migrate = Callable[[str], None]


@pytest.fixture(autouse=True)
def fast_password_hashing() -> None:
    """No Argon2 for the members tests make (the unit settings below say the same to the app):
    each hash would cost a quarter of a second. Tests of Argon2 itself choose it."""
    passwords.use(FAST_INSECURE_HASHER)


@pytest.fixture
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """AVIF copies only for the tests marked `avif_copies`: every other upload would leave its
    AVIF encodes running beside the next tests (a third of the unit suite's time)."""
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'app.db'}",
        media_root=tmp_path / "media",
        var_dir=tmp_path,
        secret_key="test-secret-" + "x" * 40,
        password_hasher=FAST_INSECURE_HASHER,
        avif_copies=request.node.get_closest_marker("avif_copies") is not None,
    )


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to head once; each test that wants one gets a copy."""
    path = tmp_path_factory.mktemp("template") / "app.db"
    migrate.upgrade(f"sqlite:///{path}")
    with closing(sqlite3.connect(path)) as db:  # all of it into the one file that is copied
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def migrated(template_db: Path) -> Migrate:
    """Bring a database to head: a new SQLite file is a copy of the template, anything else
    (an existing file, PostgreSQL) runs the migrations."""

    def upgrade(url: str) -> None:
        parsed = make_url(url)
        file = Path(parsed.database or ":memory:")
        if parsed.get_backend_name() == "sqlite" and file.name != ":memory:" and not file.exists():
            file.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(template_db, file)
        else:
            migrate.upgrade(url)

    return upgrade


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
def app(settings: Settings, migrated: Migrate) -> Litestar:
    migrated(settings.database_url)
    return create_app(settings)


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def db(app: Litestar) -> Iterator[Session]:
    """A session as the app's requests have (web/plumbing/deps.py): what it commits is told to
    the app's live hub and read cache."""
    with app.state["commits"].attach(
        Session(app.state["engine"], expire_on_commit=False)
    ) as session:
        yield session


@pytest.fixture
def alice(db: Session) -> int:
    return add_member(db, "alice", "Alice Liddell")


@pytest.fixture
def member(client: TestClient[Any], alice: int) -> int:
    """Alice, signed in on `client`."""
    log_in(client, "alice")
    return alice


@pytest.fixture
def token(db: Session, alice: int) -> str:
    """An API token of Alice's."""
    return make_token(db, alice)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def redis_server() -> Iterator[PrivateRedis]:
    """A redis-server of the test's own, which it may kill (tests/private_redis.py)."""
    with private_redis() as server:
        yield server


class Lines(logging.Handler):
    """The request log's JSON lines (web/plumbing/logs.py), as a test reads them."""

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
