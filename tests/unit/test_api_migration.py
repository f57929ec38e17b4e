"""Migration 0003 (idempotency_keys) on SQLite and PostgreSQL, and the API on PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from litestar.testing import TestClient
from sqlalchemy import create_engine, inspect
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from db import migrate
from db.engine import make_engine, normalise_url
from db.models import IdempotencyKey
from tests.api_support import jpeg, make_token, problem, sync, update, upload
from tests.factories import add_member
from tests.services import fresh_postgres_database
from web.app import create_app
from web.settings import Settings


def check_idempotency_table(url: str) -> None:
    migrate.upgrade(url)
    engine = create_engine(normalise_url(url))
    schema = inspect(engine)
    uniques = {tuple(u["column_names"]) for u in schema.get_unique_constraints("idempotency_keys")}
    assert ("user_id", "key") in uniques
    assert {fk["referred_table"] for fk in schema.get_foreign_keys("idempotency_keys")} == {"users"}
    engine.dispose()
    _duplicate_key_is_refused(url)
    migrate.downgrade(url, "0002")
    engine = create_engine(normalise_url(url))
    tables = set(inspect(engine).get_table_names())
    assert "idempotency_keys" not in tables
    assert "users" in tables
    engine.dispose()
    migrate.upgrade(url)


def _duplicate_key_is_refused(url: str) -> None:
    engine = make_engine(url)
    with Session(engine) as db:
        user_id = add_member(db, "keyholder")
        db.add(IdempotencyKey(user_id=user_id, key="k", fingerprint="a"))
        db.commit()
        db.add(IdempotencyKey(user_id=user_id, key="k", fingerprint="b"))
        with pytest.raises(IntegrityError):
            db.commit()
    engine.dispose()


def test_migration_0003_up_and_down_on_sqlite(tmp_path: Path) -> None:
    check_idempotency_table(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_migration_0003_up_and_down_on_postgres() -> None:
    with fresh_postgres_database() as url:
        check_idempotency_table(url)


@pytest.mark.postgres
def test_the_api_on_postgres(settings: Settings) -> None:
    with fresh_postgres_database() as url:
        migrate.upgrade(url)
        app = create_app(replace(settings, database_url=url))
        with Session(app.state["engine"]) as db:
            alice = add_member(db, "alice", "Alice")
            token = make_token(db, alice)
        with TestClient(app) as client:
            first = upload(client, token, alice, jpeg("red"), key="k")
            assert upload(client, token, alice, jpeg("red"), key="k").content == first.content
            second = upload(client, token, alice, jpeg("blue")).json()
            stale = {"userId": alice, "profilePicture": first.json()["filename"]}
            problem(update(client, token, stale | {"updatedAt": first.json()["updatedAt"]}), 409)
            restored = update(client, token, stale | {"updatedAt": second["updatedAt"]})
            assert restored.json()["version"] == 1
            now = datetime.now(UTC).isoformat()
            answer = sync(client, token, stale | {"syncTimestamp": now}).json()
            assert answer["stale"] is False
        app.state["engine"].dispose()
