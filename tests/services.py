"""Throwaway PostgreSQL databases and Redis prefixes, so runs never collide."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url


def postgres_url() -> str:
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        pytest.skip(
            "TEST_POSTGRES_URL is not set: PostgreSQL tests need a server (.ci/run sets it)"
        )
    return url


def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set: Redis tests need a server (.ci/run sets it)")
    return url


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Create an empty database beside TEST_POSTGRES_URL's; drop it afterwards."""
    admin_url = make_url(postgres_url())
    name = f"ppsync_test_{secrets.token_hex(6)}"
    conninfo = admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield admin_url.set(database=name).render_as_string(hide_password=False)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database(backend: str, var: Path) -> Iterator[str]:
    """An empty database's URL: "sqlite", a file under `var`; "postgresql", a fresh database
    beside TEST_POSTGRES_URL's, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{var / 'app.db'}"
        return
    with fresh_postgres_database() as url:
        yield url


def fresh_redis_prefix() -> str:
    return f"ppsync-test-{secrets.token_hex(6)}"
