"""`ppsync check [--repair]`: every kept version has all its files, each decodes; orphans listed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlmodel import Session, select

from db.models import ProfilePicture
from tests import images
from tests.api_support import make_token, upload
from tests.cli import Ran, ppsync
from tests.factories import jpeg, stored_keys
from web.services import imaging
from web.services.pictures import media_check
from web.services.pictures.names import master_key, variant_key
from web.services.pictures.storage import DiskStore
from web.settings import Settings


@pytest.fixture
def store(settings: Settings) -> DiskStore:
    return DiskStore(settings.media_root)


@pytest.fixture
def picture(client: TestClient[Any], db: Session, alice: int) -> ProfilePicture:
    """Alice's one kept version, uploaded through the API."""
    assert upload(client, make_token(db, alice), alice, jpeg("navy", (400, 300))).status_code == 201
    return db.exec(select(ProfilePicture)).one()


def check(settings: Settings, *args: str) -> Ran:
    """`ppsync check` over the test app's database and media (VAR_DIR is their folder)."""
    return ppsync(settings.var_dir, "check", *args)


def variant(store: DiskStore, picture: ProfilePicture, px: int = 96, ext: str = "webp") -> Path:
    return store.path(variant_key(picture.user_id, picture.filename, px, ext))


def test_check_of_intact_files_exits_0_with_a_summary(
    settings: Settings, picture: ProfilePicture
) -> None:
    result = check(settings)
    assert result.returncode == 0, result.stdout
    files = len(picture.meta["variants"]) + 1
    assert result.stdout.splitlines()[-1] == (
        f"1 kept versions, {files} files: 0 missing, 0 undecodable, 0 orphans, 0 repaired"
    )


def test_check_names_a_deleted_variant_and_exits_1(
    settings: Settings, store: DiskStore, picture: ProfilePicture
) -> None:
    variant(store, picture).unlink()
    result = check(settings)
    assert result.returncode == 1
    key = f"avatars/{picture.user_id}/{picture.filename}-96.webp"
    assert f"{key}: missing (member {picture.user_id}, version 1)" in result.stdout


def test_check_names_a_truncated_variant_and_exits_1(
    settings: Settings, store: DiskStore, picture: ProfilePicture
) -> None:
    path = variant(store, picture, 192, "jpg")
    path.write_bytes(path.read_bytes()[:200])
    result = check(settings)
    assert result.returncode == 1
    assert f"{picture.filename}-192.jpg: does not decode" in result.stdout


def test_repair_re_derives_deleted_and_truncated_variants_then_check_passes(
    settings: Settings, store: DiskStore, picture: ProfilePicture
) -> None:
    variant(store, picture).unlink()
    truncated = variant(store, picture, 192, "jpg")
    truncated.write_bytes(truncated.read_bytes()[:200])
    repaired = check(settings, "--repair")
    assert repaired.returncode == 0, repaired.stdout
    assert repaired.stdout.count(": repaired (it was") == 2
    assert check(settings).returncode == 0
    assert variant(store, picture).is_file()


def test_repair_of_an_animated_version_makes_its_animation_again(
    client: TestClient[Any], db: Session, store: DiskStore, alice: int
) -> None:
    token = make_token(db, alice)
    assert upload(client, token, alice, images.animated_gif(), name="wave.gif").status_code == 201
    picture = db.exec(select(ProfilePicture)).one()
    key = variant_key(alice, picture.filename, 96, "webp", animated=True)
    store.path(key).unlink()
    report = media_check.check(db, store, repair=True)
    assert [p.key for p in report.repaired] == [key]
    assert report.ok
    assert media_check.check(db, store).ok


def test_missing_master_is_reported_and_cannot_be_repaired(
    settings: Settings, store: DiskStore, picture: ProfilePicture
) -> None:
    master = master_key(picture.user_id, picture.filename, picture.meta["master"]["ext"])
    store.path(master).unlink()
    variant(store, picture).unlink()
    result = check(settings, "--repair")
    assert result.returncode == 1
    assert f"{master}: cannot repair: the master is missing or damaged" in result.stdout
    assert "2 missing" in result.stdout.splitlines()[-1]


def test_orphans_alone_are_listed_and_exit_0(
    settings: Settings, store: DiskStore, picture: ProfilePicture
) -> None:
    orphan = f"avatars/{picture.user_id}/{'f' * 32}-96.webp"
    store.write([(orphan, variant(store, picture).read_bytes())])
    result = check(settings)
    assert result.returncode == 0
    assert f"{orphan}: orphan (no kept version refers to it)" in result.stdout
    assert "1 orphans" in result.stdout.splitlines()[-1]


def test_repair_of_a_version_from_before_crops_were_recorded_uses_its_proven_centre_crop(
    db: Session, store: DiskStore, picture: ProfilePicture
) -> None:
    """Versions uploaded before this check were named by the digest of master and crop."""
    ext = picture.meta["master"]["ext"]
    master = store.path(master_key(picture.user_id, picture.filename, ext)).read_bytes()
    digest = imaging.recrop(master, crop=None).digest
    for key in [*stored_keys(store, "avatars"), *stored_keys(store, "masters")]:
        renamed = key.replace(picture.filename, digest)
        store.write([(renamed, store.path(key).read_bytes())])
        store.remove([key])
    picture.filename = digest
    picture.meta = {k: v for k, v in picture.meta.items() if k != "crop"}
    db.add(picture)
    db.commit()
    store.path(variant_key(picture.user_id, digest, 48, "webp")).unlink()
    report = media_check.check(db, store, repair=True)
    assert len(report.repaired) == 1 and report.ok
