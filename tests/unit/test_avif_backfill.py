"""`ppsync avif backfill [--limit N] [--dry-run]`: AVIF copies for the kept, not deleted, still
versions that have no AVIF record, their square cut again from the master."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from PIL import Image
from sqlmodel import Session, col, select

from db.models import ProfilePicture
from tests import images
from tests.api_support import upload
from tests.cli import Ran, ppsync
from tests.factories import jpeg
from web.services import imaging
from web.services.imaging.avif import AVIF_PX
from web.services.pictures import avif, avif_backfill
from web.services.pictures.names import AVIF_META, variant_key
from web.services.pictures.storage import DiskStore
from web.settings import Settings

PHOTO = (Path(__file__).parents[1] / "fixtures" / "pillow_hopper.jpg").read_bytes()


def backfill(settings: Settings, *args: str, env: dict[str, str] | None = None) -> Ran:
    """`ppsync avif backfill` over the test app's database and media (VAR_DIR their folder)."""
    return ppsync(settings.var_dir, "avif", "backfill", *args, env=env)


def uploaded(client: TestClient[Any], token: str, alice: int, *pictures: bytes) -> None:
    for data in pictures:
        assert upload(client, token, alice, data).status_code == 201


def rows(db: Session) -> list[ProfilePicture]:
    db.expire_all()
    return list(db.exec(select(ProfilePicture).order_by(col(ProfilePicture.version))))


def avif_files(settings: Settings, picture: ProfilePicture) -> dict[int, bytes]:
    store = DiskStore(settings.media_root)
    keys = {px: variant_key(picture.user_id, picture.filename, px, "avif") for px in AVIF_PX}
    return {px: store.read(key) for px, key in keys.items() if store.exists(key)}


def test_a_version_made_with_avif_off_gets_its_copies(
    settings: Settings, client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    uploaded(client, token, alice, PHOTO)
    assert AVIF_META not in rows(db)[0].meta  # the app's AVIF_COPIES is off
    result = backfill(settings)
    assert result.returncode == 0, result.stderr
    (picture,) = rows(db)
    kept = picture.meta[AVIF_META]
    assert 384 in kept and set(kept) <= set(AVIF_PX)
    sizes = ", ".join(str(px) for px in kept)
    assert result.stdout.splitlines() == [
        f"member {alice}, version 1: AVIF at {sizes} px",
        "1 versions: 1 given AVIF copies, 0 none smaller, 0 skipped, 0 failed",
    ]
    store = DiskStore(settings.media_root)
    for px, data in avif_files(settings, picture).items():
        webp = store.read(variant_key(alice, picture.filename, px, "webp"))
        with Image.open(io.BytesIO(data)) as im:
            assert (im.format, im.size) == ("AVIF", (px, px))
        assert len(data) < len(webp)
    assert set(avif_files(settings, picture)) == set(kept)


def test_a_flat_version_is_recorded_with_none_smaller(
    settings: Settings, client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    uploaded(client, token, alice, jpeg("navy", (400, 400)))
    result = backfill(settings)
    assert f"member {alice}, version 1: none smaller" in result.stdout.splitlines()
    assert rows(db)[0].meta[AVIF_META] == []
    assert backfill(settings, "--dry-run").stdout == "0 versions without AVIF copies\n"


@pytest.mark.avif_copies
def test_a_version_that_has_its_record_is_left_untouched(
    app: Litestar, settings: Settings, client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    uploaded(client, token, alice, PHOTO)
    app.state["followups"].settle()
    (before,) = rows(db)
    files = avif_files(settings, before)
    assert before.meta[AVIF_META] and files
    result = backfill(settings)
    assert result.stdout == "0 versions: 0 given AVIF copies, 0 none smaller, 0 skipped, 0 failed\n"
    (after,) = rows(db)
    assert after.meta == before.meta and avif_files(settings, after) == files


def test_deleted_and_animated_versions_are_left_alone(
    settings: Settings, client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    uploaded(client, token, alice, jpeg("navy"), images.animated_gif(), jpeg("olive"))
    assert ppsync(settings.var_dir, "picture", "delete", "alice", "--version", "1").returncode == 0
    listed = backfill(settings, "--dry-run")
    assert listed.stdout.splitlines() == [
        f"member {alice}, version 3: no AVIF copies",
        "1 versions without AVIF copies",
    ]
    assert backfill(settings).returncode == 0
    deleted, animated, still = rows(db)
    assert AVIF_META not in deleted.meta and AVIF_META not in animated.meta
    assert AVIF_META in still.meta


def test_limit_caps_the_versions_made_oldest_first(
    settings: Settings, client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    uploaded(client, token, alice, jpeg("navy"), jpeg("olive"))
    result = backfill(settings, "--limit", "1")
    assert result.stdout.splitlines()[-1] == (
        "1 versions: 0 given AVIF copies, 1 none smaller, 0 skipped, 0 failed"
    )
    first, second = rows(db)
    assert AVIF_META in first.meta and AVIF_META not in second.meta
    assert backfill(settings, "--limit", "0").returncode == 2  # argparse: 1 or more


def test_dry_run_lists_the_versions_and_changes_nothing(
    settings: Settings, client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    uploaded(client, token, alice, jpeg("navy"), jpeg("olive"))
    result = backfill(settings, "--dry-run", "--limit", "1")
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        f"member {alice}, version 1: no AVIF copies",
        "1 versions without AVIF copies",
    ]
    assert all(AVIF_META not in picture.meta for picture in rows(db))
    assert avif_files(settings, rows(db)[0]) == {}


def test_with_avif_copies_off_it_refuses_with_status_2(
    settings: Settings, client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    uploaded(client, token, alice, jpeg("navy"))
    result = backfill(settings, env={"AVIF_COPIES": "off"})
    assert result.returncode == 2
    assert result.stderr == "ppsync: error: AVIF_COPIES is off: no AVIF copies are made\n"
    assert result.stdout == "" and AVIF_META not in rows(db)[0].meta


def test_a_version_given_its_copies_after_it_was_listed_is_skipped(
    settings: Settings, client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    uploaded(client, token, alice, jpeg("navy"))
    (listed,) = avif_backfill.lacking(db)
    (picture,) = rows(db)
    picture.meta = picture.meta | {AVIF_META: [384]}  # as a server's own followup would
    db.add(picture)
    db.commit()
    store = DiskStore(settings.media_root)
    assert avif_backfill.wanted(db, store, listed, settings.image_limits()) is None


def test_copies_made_elsewhere_while_encoding_stand_and_none_are_written_over_them(
    settings: Settings, client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    uploaded(client, token, alice, PHOTO)
    (listed,) = avif_backfill.lacking(db)
    store = DiskStore(settings.media_root)
    wanted = avif_backfill.wanted(db, store, listed, settings.image_limits())
    assert wanted is not None
    (picture,) = rows(db)
    picture.meta = picture.meta | {AVIF_META: []}  # a server's followup finished first
    db.add(picture)
    db.commit()
    assert avif.add(db, store, wanted, settings.image_limits().ceilings) is None
    (picture,) = rows(db)
    assert picture.meta[AVIF_META] == [] and avif_files(settings, picture) == {}


def test_a_version_deleted_after_it_was_listed_is_skipped(
    settings: Settings, client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    uploaded(client, token, alice, jpeg("navy"))
    (listed,) = avif_backfill.lacking(db)
    assert ppsync(settings.var_dir, "picture", "delete", "alice").returncode == 0
    store = DiskStore(settings.media_root)
    assert avif_backfill.wanted(db, store, listed, settings.image_limits()) is None


def test_a_version_s_edit_labels_read_back_as_its_edits() -> None:
    for edits in (
        imaging.NO_EDITS,
        imaging.Edits(enhance=True),
        imaging.Edits(background="blur"),
        imaging.Edits(enhance=True, background="color", color="#12abef"),
    ):
        assert imaging.edits_of(edits.labels()) == edits
