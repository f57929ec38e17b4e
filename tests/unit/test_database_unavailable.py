"""Which database errors are an outage (503 + Retry-After) and which stay 500s, on SQLite."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import Engine, create_engine, exc, text
from sqlalchemy.pool import QueuePool
from sqlmodel import Session

from db.unavailable import unavailable_cause
from tests.api_support import bearer
from web.errors import DATABASE_DOWN as SENTENCE
from web.plumbing.replies import RETRY_AFTER_DATABASE as RETRY_AFTER_S


def _error(engine: Engine, sql: str) -> exc.SQLAlchemyError:
    with pytest.raises(exc.SQLAlchemyError) as raised, engine.begin() as connection:
        connection.execute(text(sql))
    return raised.value


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[Engine]:
    """An engine that does not wait, over a file another connection holds exclusively."""
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER UNIQUE)")
    holder.execute("BEGIN EXCLUSIVE")
    yield create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    holder.close()


def test_locked_sqlite_database_is_unavailable(locked: Engine) -> None:
    cause = unavailable_cause(_error(locked, "INSERT INTO t VALUES (1)"))
    assert cause == "database is locked (SQLITE_BUSY)"


def test_missing_table_is_not_unavailable(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    assert unavailable_cause(_error(engine, "SELECT * FROM nowhere")) is None


def test_integrity_error_is_not_unavailable(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'unique.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER UNIQUE)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))
    assert unavailable_cause(_error(engine, "INSERT INTO t VALUES (1)")) is None


def test_pool_timeout_is_unavailable(tmp_path: Path) -> None:
    engine = create_engine(
        f"sqlite:///{tmp_path / 'busy.db'}",
        poolclass=QueuePool,
        pool_size=1,
        max_overflow=0,
        pool_timeout=0.05,
    )
    with engine.connect(), pytest.raises(exc.TimeoutError) as raised:
        engine.connect()
    assert unavailable_cause(raised.value) is not None


class GoneFile:
    """The SQLite file can't be opened (a volume gone, a path replaced): a directory sits there."""

    def __init__(self, app: Litestar) -> None:
        self.path = Path(app.state["settings"].database_url.removeprefix("sqlite:///"))
        self.away = self.path.with_suffix(".away")
        self.path.rename(self.away)
        self.path.mkdir()
        app.state["engine"].dispose()  # pooled connections would still hold the old file open

    def restore(self) -> None:
        if self.away.exists():
            self.path.rmdir()
            self.away.rename(self.path)


@pytest.fixture
def database_gone(app: Litestar) -> Iterator[GoneFile]:
    gone = GoneFile(app)
    yield gone
    gone.restore()


def test_page_is_503_page_when_sqlite_file_cannot_be_opened(
    client: TestClient[Any], database_gone: GoneFile
) -> None:
    response = client.get("/members")
    assert response.status_code == 503
    assert response.headers["retry-after"] == str(RETRY_AFTER_S)
    page = BeautifulSoup(response.text, "html.parser")
    assert page.find(attrs={"role": "alert"}).get_text(strip=True) == SENTENCE


def test_api_is_503_problem_when_sqlite_file_cannot_be_opened(
    client: TestClient[Any], token: str, alice: int, database_gone: GoneFile
) -> None:
    response = client.get(f"/api/profile/picture/{alice}", headers=bearer(token))
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == SENTENCE


def test_page_after_sqlite_file_is_back_is_200(
    client: TestClient[Any], database_gone: GoneFile
) -> None:
    assert client.get("/members").status_code == 503
    database_gone.restore()
    assert client.get("/members").status_code == 200


def test_programming_error_on_a_page_stays_500(client: TestClient[Any], db: Session) -> None:
    db.execute(text("DROP TABLE user_profiles"))
    db.commit()
    response = client.get("/members")
    assert response.status_code == 500
    assert "retry-after" not in response.headers
