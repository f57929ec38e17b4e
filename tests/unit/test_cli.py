"""`ppsync`, run as operators run it: a real process with its own environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select

from db.engine import make_engine
from db.models import AuditLog
from tests.factories import PASSWORD
from web.services.accounts import tokens

PPSYNC = str(Path(sys.executable).with_name("ppsync"))


def ppsync(var: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {"VAR_DIR": str(var), "SECRET_KEY": "s" * 40}
    return subprocess.run(
        [PPSYNC, *args], input=stdin, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def var(tmp_path: Path) -> Path:
    assert ppsync(tmp_path, "db", "upgrade").returncode == 0
    return tmp_path


def test_user_add_prints_the_new_id_last(var: Path) -> None:
    result = ppsync(var, "user", "add", "dora", "--display-name", "Dora", stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "1"


def test_user_add_with_short_password_fails_clearly(var: Path) -> None:
    result = ppsync(var, "user", "add", "dora", stdin="short\n")
    assert result.returncode == 1
    assert "at least 10 characters" in result.stderr


def test_user_add_twice_reports_the_taken_handle(var: Path) -> None:
    ppsync(var, "user", "add", "dora", stdin=PASSWORD + "\n")
    result = ppsync(var, "user", "add", "dora", stdin=PASSWORD + "\n")
    assert result.returncode == 1
    assert "taken" in result.stderr


def test_token_add_prints_the_token_last(var: Path) -> None:
    ppsync(var, "user", "add", "dora", stdin=PASSWORD + "\n")
    result = ppsync(var, "token", "add", "dora", "--name", "ci")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("pps_")
    assert len(token) > 40


def test_token_add_is_audited_as_the_operators(var: Path) -> None:
    ppsync(var, "user", "add", "dora", stdin=PASSWORD + "\n")
    token = ppsync(var, "token", "add", "dora", "--name", "ci").stdout.strip().splitlines()[-1]
    with Session(make_engine(f"sqlite:///{var / 'app.db'}")) as db:
        row = db.exec(select(AuditLog).where(AuditLog.action == "token.create")).one()
    assert (row.actor_id, row.outcome, row.detail) == (None, "ok", f"prefix {token[:10]}")
    assert row.subject_id is not None


def test_token_add_refuses_an_eleventh_live_token(var: Path) -> None:
    ppsync(var, "user", "add", "dora", stdin=PASSWORD + "\n")
    with Session(make_engine(f"sqlite:///{var / 'app.db'}")) as db:
        for n in range(tokens.MAX_ACTIVE_TOKENS):
            tokens.create_token(db, user_id=1, name=f"t{n}")
        db.commit()
    result = ppsync(var, "token", "add", "dora")
    assert result.returncode == 1
    assert "revoke one you no longer use first" in result.stderr


def test_token_add_for_unknown_member_fails(var: Path) -> None:
    result = ppsync(var, "token", "add", "nobody")
    assert result.returncode == 1
    assert "no member has the handle 'nobody'" in result.stderr


def test_seed_demo_seeds_once(var: Path) -> None:
    first = ppsync(var, "seed-demo")
    assert first.returncode == 0
    assert "alice, bob, carol" in first.stdout
    second = ppsync(var, "seed-demo")
    assert "nothing seeded" in second.stdout


def test_unknown_command_exits_non_zero_with_usage(var: Path) -> None:
    result = ppsync(var, "frobnicate")
    assert result.returncode == 2
    assert "usage: ppsync" in result.stderr


def test_picture_restore_and_delete_change_the_picture_like_the_forms(var: Path) -> None:
    from litestar.testing import TestClient
    from sqlmodel import Session, select

    from db.models import SyncEvent
    from tests.conftest import log_in
    from tests.factories import jpeg
    from tests.unit.test_profile_pictures import upload
    from web.app import create_app
    from web.settings import Settings

    ppsync(var, "user", "add", "dora", stdin=PASSWORD + "\n")
    app = create_app(Settings.from_env({"VAR_DIR": str(var), "SECRET_KEY": "s" * 40}))
    with TestClient(app) as client:
        log_in(client, "dora")
        upload(client, jpeg("red"))
        upload(client, jpeg("blue"))

    restored = ppsync(var, "picture", "restore", "dora", "1")
    assert restored.returncode == 0, restored.stderr
    assert "Version 1 restored" in restored.stdout
    deleted = ppsync(var, "picture", "delete", "dora")
    assert "Version 1 deleted" in deleted.stdout
    missing = ppsync(var, "picture", "restore", "dora", "9")
    assert (missing.returncode, missing.stderr.strip()) == (
        1,
        "ppsync: error: There is no version 9 of your picture.",
    )
    with Session(app.state["engine"]) as db:
        kinds = db.exec(select(SyncEvent.kind).order_by(SyncEvent.id)).all()
    assert kinds == ["uploaded", "uploaded", "restored", "deleted"]
