"""`ppsync`: each command in this process (tests/cli.py), and as a real process where the
process is the point: its imports, a migration, its exit codes, `serve`'s start-up."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select

from db.engine import make_engine
from db.models import AuditLog, User
from tests.cli import environment, ppsync, ppsync_process
from tests.conftest import Migrate
from tests.factories import PASSWORD
from web.services.accounts import tokens

# What the web app, the image pipeline, Redis and the ORM bring in: none of it for --help.
HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "litestar", "redis", "PIL", "cv2", "boto3")
# `user add` needs the ORM and Argon2, never the web app, the pipeline, Redis or S3.
NOT_FOR_USER_ADD = ("alembic", "litestar", "redis", "PIL", "cv2", "boto3", "uvicorn")
# `main(argv)` in a fresh interpreter, then the names among NAMES that it imported.
RUN_AND_REPORT = """
import sys
from web.cli import main
try:
    code = main(sys.argv[2:])
except SystemExit as stop:
    code = stop.code
print(sorted(m for m in sys.argv[1].split(",") if m in sys.modules))
sys.exit(code)
"""


@pytest.fixture
def var(tmp_path: Path, migrated: Migrate) -> Path:
    migrated(f"sqlite:///{tmp_path / 'app.db'}")
    return tmp_path


def python_running_cli(var: Path, names: tuple[str, ...], *args: str, stdin: str = "") -> str:
    """Run `main(args)` in a fresh interpreter; the modules of `names` it imported."""
    result = subprocess.run(
        [sys.executable, "-c", RUN_AND_REPORT, ",".join(names), *args],
        input=stdin,
        env=environment(var),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_help_is_a_real_process_that_imports_nothing_heavy(tmp_path: Path) -> None:
    result = ppsync_process(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: ppsync")
    assert "seed-demo" in result.stdout
    assert python_running_cli(tmp_path, HEAVY, "--help") == "[]"


def test_user_add_imports_only_what_it_needs(var: Path) -> None:
    imported = python_running_cli(var, NOT_FOR_USER_ADD, "user", "add", "dora", stdin=PASSWORD)
    assert imported == "[]"


def test_db_upgrade_then_user_add_as_real_processes(tmp_path: Path) -> None:
    upgraded = ppsync_process(tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    added = ppsync_process(tmp_path, "user", "add", "dora", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip().splitlines()[-1] == "1"


def test_unknown_command_exits_non_zero_with_usage(tmp_path: Path) -> None:
    result = ppsync_process(tmp_path, "frobnicate")
    assert result.returncode == 2
    assert "usage: ppsync" in result.stderr


def test_serve_refuses_to_start_in_production_with_the_fast_hasher(tmp_path: Path) -> None:
    result = ppsync_process(tmp_path, "serve", "--port", "9", env={"APP_ENV": "production"})
    assert result.returncode == 1
    assert "PASSWORD_HASHER=fast-insecure-test-only is for tests" in result.stderr
    assert "Open files" not in result.stderr  # refused before the server began to start


def test_user_add_prints_the_new_id_last(var: Path) -> None:
    result = ppsync(var, "user", "add", "dora", "--display-name", "Dora", stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "1"


def test_user_add_hashes_with_argon2_unless_told_otherwise(var: Path) -> None:
    result = ppsync(var, "user", "add", "dora", stdin=PASSWORD, env={"PASSWORD_HASHER": ""})
    assert result.returncode == 0, result.stderr
    with Session(make_engine(f"sqlite:///{var / 'app.db'}")) as db:
        stored = db.exec(select(User.password_hash)).one()
    assert stored.startswith("$argon2id$")


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


def test_seed_demo_members_adds_generated_members_in_bulk_each_time(var: Path) -> None:
    from litestar.testing import TestClient

    from db.models import UserProfile
    from tests.forms import log_in
    from web.app import create_app
    from web.services.accounts.members import HANDLE_RE
    from web.settings import Settings

    first = ppsync(var, "seed-demo", "--members", "30")
    assert first.returncode == 0, first.stderr
    assert "Seeded 30 generated members" in first.stdout
    assert "N from 1 to 30" in first.stdout
    again = ppsync(var, "seed-demo", "--members", "25")
    assert "N from 31 to 55" in again.stdout
    assert "nothing seeded" in ppsync(var, "seed-demo").stdout  # without the flag: as before
    engine = make_engine(f"sqlite:///{var / 'app.db'}")
    with Session(engine) as db:
        users = db.exec(select(User)).all()
        profiles = db.exec(select(UserProfile)).all()
    engine.dispose()
    assert len(users) == len({u.handle for u in users}) == len(profiles) == 55
    assert all(HANDLE_RE.fullmatch(u.handle) for u in users)
    assert all(u.directory_key.endswith("\n" + u.handle) for u in users)
    # The password printed once opens every generated member's account.
    password = again.stdout.splitlines()[0].rpartition(": ")[2]
    with TestClient(create_app(Settings.from_env(environment(var)))) as client:
        log_in(client, users[-1].handle, password=password)
        assert client.get("/profile", follow_redirects=False).status_code == 200


@pytest.mark.parametrize("count", ["0", "-3", "x", "2147483648"])
def test_seed_demo_refuses_a_count_that_is_no_count(var: Path, count: str) -> None:
    result = ppsync(var, "seed-demo", "--members", count)
    assert result.returncode == 2
    assert "a number of members from 1 to 2147483647" in result.stderr


def test_picture_commands_change_the_picture_like_the_forms(var: Path) -> None:
    from litestar.testing import TestClient
    from sqlmodel import col

    from db.models import ProfilePicture, SyncEvent
    from tests.factories import jpeg
    from tests.forms import log_in, upload
    from web.app import create_app
    from web.settings import Settings

    ppsync(var, "user", "add", "dora", stdin=PASSWORD + "\n")
    app = create_app(Settings.from_env(environment(var)))
    with TestClient(app) as client:
        log_in(client, "dora")
        upload(client, jpeg("red"))
        upload(client, jpeg("blue"))

    used = ppsync(var, "picture", "use", "dora", "1")
    assert used.returncode == 0, used.stderr
    assert "Version 1 is the picture" in used.stdout
    deleted = ppsync(var, "picture", "delete", "dora")
    assert "Version 1 deleted" in deleted.stdout
    restored = ppsync(var, "picture", "restore", "dora", "1")
    assert "Version 1 restored" in restored.stdout
    removed = ppsync(var, "picture", "remove", "dora")
    assert "Picture removed" in removed.stdout
    again = ppsync(var, "picture", "remove", "dora")
    assert (again.returncode, again.stdout.strip()) == (0, "There is no picture to remove.")
    missing = ppsync(var, "picture", "restore", "dora", "9")
    assert (missing.returncode, missing.stderr.strip()) == (
        1,
        "ppsync: error: There is no version 9 of your picture.",
    )
    with Session(app.state["engine"]) as db:
        kinds = db.exec(select(SyncEvent.kind).order_by(SyncEvent.id)).all()
        assert kinds == ["uploaded", "uploaded", "restored", "deleted", "restored", "removed"]
        active = db.exec(select(ProfilePicture).where(col(ProfilePicture.is_active))).all()
        assert active == []  # version 1 back in the history, version 2 removed: initials
