"""The migrations create every table of the design, on SQLite and on PostgreSQL, and 0007
keys the members already there for the directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlmodel import Session

from db import migrate
from db.engine import make_engine, normalise_url
from tests.services import fresh_postgres_database
from web.services.accounts import directory

TABLES = {
    "users",
    "api_tokens",
    "profile_pictures",
    "user_profiles",
    "sync_events",
    "sync_sessions",
    "audit_log",
    "idempotency_keys",
    "web_sessions",
}


def check_schema(url: str) -> None:
    migrate.upgrade(url)
    engine = create_engine(normalise_url(url))
    schema = inspect(engine)
    assert set(schema.get_table_names()) >= TABLES
    uniques = {tuple(u["column_names"]) for u in schema.get_unique_constraints("profile_pictures")}
    assert ("user_id", "version") in uniques
    indexes = {tuple(i["column_names"]) for i in schema.get_indexes("profile_pictures")}
    assert ("user_id", "is_active") in indexes
    assert "recrop_of" in {c["name"] for c in schema.get_columns("profile_pictures")}
    targets = {fk["referred_table"] for fk in schema.get_foreign_keys("user_profiles")}
    assert targets == {"users", "profile_pictures"}
    assert schema.get_pk_constraint("web_sessions")["constrained_columns"] == ["key"]
    assert ("expires_at",) in {tuple(i["column_names"]) for i in schema.get_indexes("web_sessions")}
    engine.dispose()
    migrate.downgrade(url, "base")
    engine = create_engine(normalise_url(url))
    assert not TABLES & set(inspect(engine).get_table_names())
    engine.dispose()


def test_migration_up_and_down_on_sqlite(tmp_path: Path) -> None:
    check_schema(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_migration_up_and_down_on_postgres() -> None:
    with fresh_postgres_database() as url:
        check_schema(url)


def test_sqlite_runs_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'w.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def check_directory_keys(url: str) -> None:
    """0007 keys the members who were there before it, and its search index finds them."""
    migrate.upgrade(url, "0005")
    engine = create_engine(normalise_url(url))
    with engine.begin() as connection:
        for handle, name in [("alice", "Alice Liddell"), ("elodie", "Élodie Durand")]:
            connection.execute(
                text(
                    "INSERT INTO users (handle, display_name, password_hash, created_at, is_admin)"
                    " VALUES (:handle, :name, 'x', CURRENT_TIMESTAMP, false)"
                ),
                {"handle": handle, "name": name},
            )
    migrate.upgrade(url)
    with Session(engine) as session:
        keys = dict(session.execute(text("SELECT handle, directory_key FROM users")).all())
        assert keys == {"alice": "alice liddell\nalice", "elodie": "elodie durand\nelodie"}
        assert [m.handle for m in directory.page(session, q="LIDDELL").members] == ["alice"]
        assert [m.handle for m in directory.page(session, q="dur").members] == ["elodie"]
    indexes = {i["name"] for i in inspect(engine).get_indexes("users")}
    assert "ix_users_directory_key" in indexes
    engine.dispose()
    migrate.downgrade(url, "0005")
    engine = create_engine(normalise_url(url))
    assert "directory_key" not in {c["name"] for c in inspect(engine).get_columns("users")}
    engine.dispose()


def test_0007_keys_the_members_already_there_on_sqlite(tmp_path: Path) -> None:
    check_directory_keys(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
def test_0007_keys_the_members_already_there_on_postgres() -> None:
    with fresh_postgres_database() as url:
        check_directory_keys(url)


def test_migration_0008_gives_older_versions_their_average_colour_as_preview(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    migrate.upgrade(url, "0006")
    engine = create_engine(normalise_url(url))
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, handle, display_name, password_hash, created_at, is_admin)"
                " VALUES (1, 'alice', 'Alice', 'x', '2026-01-01 00:00:00', 0)"
            )
        )
        for version, meta in ((1, '{"placeholder": "#2a7fc0"}'), (2, '{"placeholder": "red"}')):
            connection.execute(
                text(
                    "INSERT INTO profile_pictures (user_id, version, filename, original_name,"
                    " file_path, file_size, mime_type, width, height, upload_date, is_active,"
                    " metadata) VALUES (1, :v, 'f', 'o', 'p', 1, 'image/jpeg', 1, 1,"
                    " '2026-01-01 00:00:00', 0, :meta)"
                ),
                {"v": version, "meta": meta},
            )
    engine.dispose()
    migrate.upgrade(url)
    engine = create_engine(normalise_url(url))
    with engine.connect() as connection:
        previews = dict(
            connection.execute(text("SELECT version, preview FROM profile_pictures")).all()
        )
    engine.dispose()
    assert previews[1].startswith("data:image/svg+xml,")
    assert "fill='%232a7fc0'" in previews[1]
    assert "fill='%23888888'" in previews[2]  # not a colour: the grey pages drew before
