"""`ppsync import DIR` (in this process: tests/cli.py): good, corrupt and unknown-handle files."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from db.engine import make_engine
from db.models import AuditLog, ProfilePicture, SyncEvent, User
from tests import images
from tests.cli import ppsync
from tests.conftest import Migrate
from tests.factories import PASSWORD
from web.services.accounts import members
from web.services.pictures.uploads import SOURCE_DIGEST, source_digest


@pytest.fixture
def var(tmp_path: Path, migrated: Migrate) -> Path:
    """A var/ directory with dora and eve (made in this process: each ppsync run costs seconds)."""
    var = tmp_path / "var"
    var.mkdir()
    migrated(f"sqlite:///{var / 'app.db'}")
    with db(var) as session:
        for handle in ("dora", "eve"):
            members.create_member(session, handle=handle, display_name=handle, password=PASSWORD)
    return var


@pytest.fixture
def good(tmp_path: Path) -> Path:
    folder = tmp_path / "avatars"
    folder.mkdir()
    (folder / "dora.jpg").write_bytes(images.jpeg((120, 80), images.BLUE))
    (folder / "Eve.heic").write_bytes(images.heic(images.solid((90, 60), images.GREEN)))
    return folder


def db(var: Path) -> Session:
    return Session(make_engine(f"sqlite:///{var / 'app.db'}"))


def versions(var: Path) -> list[tuple[str, int, str]]:
    with db(var) as session:
        rows = session.exec(
            select(User.handle, ProfilePicture.version, ProfilePicture.original_name)
            .join(User, col(User.id) == col(ProfilePicture.user_id))
            .order_by(col(User.handle), col(ProfilePicture.version))
        ).all()
    return [(handle, version, name) for handle, version, name in rows]


def test_import_of_good_files_makes_a_version_each_and_exits_0(var: Path, good: Path) -> None:
    result = ppsync(var, "import", str(good))
    assert result.returncode == 0, result.stdout + result.stderr
    assert versions(var) == [("dora", 1, "dora.jpg"), ("eve", 1, "Eve.heic")]
    assert "2 files: 2 imported, 0 unchanged, 0 refused, 0 unknown handle" in result.stdout
    assert "files/s" in result.stdout
    assert "importing [2/2]" in result.stderr


def test_imported_version_is_audited_as_the_operators_and_announced(var: Path, good: Path) -> None:
    ppsync(var, "import", str(good))
    with db(var) as session:
        audits = session.exec(select(AuditLog).where(AuditLog.action == "picture.upload")).all()
        events = session.exec(select(SyncEvent.kind)).all()
        meta = session.exec(select(ProfilePicture.meta).where(ProfilePicture.version == 1)).all()
    assert [(a.actor_id, a.outcome) for a in audits] == [(None, "ok"), (None, "ok")]
    assert events == ["uploaded", "uploaded"]
    digests = {m[SOURCE_DIGEST] for m in meta}
    assert source_digest((good / "dora.jpg").read_bytes()) in digests


def test_second_run_imports_nothing_new(var: Path, good: Path) -> None:
    ppsync(var, "import", str(good))
    again = ppsync(var, "import", str(good))
    assert again.returncode == 0, again.stdout
    assert "2 files: 0 imported, 2 unchanged" in again.stdout
    assert versions(var) == [("dora", 1, "dora.jpg"), ("eve", 1, "Eve.heic")]


def test_changed_file_is_imported_again(var: Path, good: Path) -> None:
    ppsync(var, "import", str(good))
    (good / "dora.jpg").write_bytes(images.jpeg((120, 80), images.RED))
    again = ppsync(var, "import", str(good))
    assert "1 imported, 1 unchanged" in again.stdout
    assert ("dora", 2, "dora.jpg") in versions(var)


def test_corrupt_and_unknown_files_are_reported_and_exit_1(var: Path, good: Path) -> None:
    (good / "eve.png").write_bytes(images.truncated_png())
    (good / "zed.jpg").write_bytes(images.jpeg())
    result = ppsync(var, "import", str(good))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert "eve.png: refused: The picture could not be read: the file is truncated or damaged." in (
        lines
    )
    assert "zed.jpg: unknown handle 'zed'" in lines
    assert "4 files: 2 imported, 0 unchanged, 1 refused, 1 unknown handle" in result.stdout
    assert versions(var) == [("dora", 1, "dora.jpg"), ("eve", 1, "Eve.heic")]
    with db(var) as session:
        refused = session.exec(select(AuditLog).where(AuditLog.outcome != "ok")).all()
    assert [(a.action, a.actor_id) for a in refused] == [("picture.upload", None)]


def test_dry_run_checks_every_file_and_writes_nothing(var: Path, good: Path) -> None:
    (good / "dora.txt").write_text("not a picture")
    result = ppsync(var, "import", str(good), "--dry-run")
    assert result.returncode == 1
    assert "dora.txt: refused: This file is not a picture we can use" in result.stdout
    assert "3 files: 2 would import, 0 unchanged, 1 refused" in result.stdout
    assert "dry run: nothing written" in result.stdout
    assert versions(var) == []
    assert not any((var / "media").rglob("*.*"))


def test_import_of_a_missing_directory_fails_clearly(var: Path, tmp_path: Path) -> None:
    result = ppsync(var, "import", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert "not a directory" in result.stderr
