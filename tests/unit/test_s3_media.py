"""Pictures in an S3 bucket (MEDIA_STORE=s3://BUCKET/PREFIX), against a real S3 server
(SeaweedFS, tests/seaweed.py): every change, the media route, retention and the check go
through the bucket, and nothing lands in MEDIA_ROOT."""

from __future__ import annotations

import io
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from PIL import Image
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from db.models import ProfilePicture
from db.types import utcnow
from tests import api_support
from tests.conftest import Migrate
from tests.factories import jpeg, stored_keys
from tests.forms import post, upload
from tests.seaweed import S3Server
from tests.unit.test_upload_conflicts import fail_the_commit_with
from web.app import create_app
from web.services.imaging import process
from web.services.pictures import media_check, retention
from web.services.pictures.names import master_key, variant_key
from web.services.pictures.s3 import S3Store
from web.services.pictures.storage import MediaStore
from web.services.pictures.stores import media_store
from web.settings import Settings

pytestmark = pytest.mark.usefixtures("s3_server")


@pytest.fixture
def app(s3_settings: Settings, migrated: Migrate) -> Litestar:
    migrated(s3_settings.database_url)
    return create_app(s3_settings)


@pytest.fixture
def store(s3_settings: Settings) -> MediaStore:
    return media_store(s3_settings)


def objects(store: MediaStore) -> set[str]:
    return {key for folder in ("avatars", "masters") for key in stored_keys(store, folder)}


def files_on_disk(settings: Settings) -> list[Path]:
    root = Path(settings.media_root)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def picture(db: Session, version: int) -> ProfilePicture:
    db.expire_all()
    return db.exec(select(ProfilePicture).where(ProfilePicture.version == version)).one()


def variant_url(row: ProfilePicture, px: int = 96, ext: str = "webp") -> str:
    return "/media/" + variant_key(row.user_id, row.filename, px, ext)


# --- the store itself ------------------------------------------------------------------------


def test_media_store_setting_chooses_the_bucket(store: MediaStore) -> None:
    assert isinstance(store, S3Store)
    assert store.prefix == "site/"


def test_write_processed_puts_every_variant_and_the_master(store: MediaStore) -> None:
    processed = process(jpeg())
    keys = store.write_processed(7, "a" * 32, processed)
    assert objects(store) == set(keys)
    assert store.read(master_key(7, "a" * 32, processed.master.ext)) == processed.master.data


def test_write_without_replace_leaves_an_existing_object(store: MediaStore) -> None:
    key = variant_key(7, "b" * 32, 96, "webp")
    store.write([(key, b"first")])
    store.write([(key, b"second")])
    assert store.read(key) == b"first"
    store.write([(key, b"third")], replace=True)
    assert store.read(key) == b"third"


def test_read_of_a_missing_key_is_file_not_found(store: MediaStore) -> None:
    with pytest.raises(FileNotFoundError):
        store.read(variant_key(7, "c" * 32, 96, "webp"))
    assert store.open(variant_key(7, "c" * 32, 96, "webp")) is None
    assert not store.exists(variant_key(7, "c" * 32, 96, "webp"))


def test_keys_under_lists_keys_sizes_and_times_of_one_member_only(store: MediaStore) -> None:
    mine, theirs = variant_key(1, "d" * 32, 96, "webp"), variant_key(12, "d" * 32, 96, "webp")
    store.write([(mine, b"12345"), (theirs, b"x")])
    [item] = store.keys_under("avatars/1")
    assert (item.key, item.size) == (mine, 5)
    assert abs(item.modified - time.time()) < 60


def test_remove_deletes_objects_and_ignores_missing_ones(store: MediaStore) -> None:
    key = variant_key(7, "e" * 32, 96, "webp")
    store.write([(key, b"x")])
    store.remove([key, variant_key(7, "f" * 32, 96, "webp")])
    assert objects(store) == set()


# --- the app on a bucket ------------------------------------------------------------------------


def test_upload_puts_its_files_in_the_bucket_and_nothing_in_media_root(
    client: TestClient[Any], db: Session, s3_settings: Settings, store: MediaStore, member: int
) -> None:
    assert upload(client, jpeg()).status_code == 303
    row = picture(db, 1)
    assert variant_key(member, row.filename, 96, "webp") in objects(store)
    assert files_on_disk(s3_settings) == []


def test_media_get_is_served_from_the_bucket(
    client: TestClient[Any], db: Session, store: MediaStore, member: int
) -> None:
    upload(client, jpeg())
    row = picture(db, 1)
    response = client.get(variant_url(row))
    assert response.status_code == 200
    assert response.content == store.read(variant_key(member, row.filename, 96, "webp"))
    assert response.headers["content-type"] == "image/webp"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_media_get_of_a_deleted_version_is_410_and_its_objects_stay_until_purge(
    client: TestClient[Any], db: Session, store: MediaStore, member: int
) -> None:
    upload(client, jpeg("red"))
    upload(client, jpeg("blue"))
    assert post(client, "/profile/picture/delete", version="1").status_code == 303
    row = picture(db, 1)
    assert client.get(variant_url(row)).status_code == 410
    assert variant_key(member, row.filename, 96, "webp") in objects(store)


def test_restore_serves_the_kept_objects_again(
    client: TestClient[Any], db: Session, member: int
) -> None:
    upload(client, jpeg("red"))
    upload(client, jpeg("blue"))
    post(client, "/profile/picture/delete", version="1")
    assert post(client, "/profile/picture/1/restore").status_code == 303  # kept, not current
    assert client.get(variant_url(picture(db, 1))).status_code == 200


def test_recrop_reads_the_master_from_the_bucket(
    client: TestClient[Any], db: Session, s3_settings: Settings, member: int
) -> None:
    upload(client, jpeg(size=(600, 300)))
    master = client.get("/profile/picture/1/master")
    assert master.status_code == 200
    assert Image.open(io.BytesIO(master.content)).size == (600, 300)
    response = post(client, "/profile/picture/1/crop", cropX="0.5", cropY="0", cropSize="1")
    assert response.status_code == 303
    assert client.get(variant_url(picture(db, 2))).status_code == 200
    assert files_on_disk(s3_settings) == []


def test_purge_removes_the_objects_of_versions_past_retention(
    client: TestClient[Any], db: Session, store: MediaStore, member: int
) -> None:
    upload(client, jpeg("red"))
    upload(client, jpeg("blue"))
    post(client, "/profile/picture/delete", version="1")
    gone, kept = picture(db, 1).filename, picture(db, 2).filename
    assert retention.purge(db, store, now=utcnow() + timedelta(days=31)) == 1
    names = {key.split("/")[2][:32] for key in objects(store)}
    assert names == {kept}
    assert gone not in names


def test_sweep_removes_unreferenced_objects_past_the_grace_only(
    client: TestClient[Any],
    db: Session,
    store: MediaStore,
    member: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    upload(client, jpeg())
    orphan = variant_key(member, "0" * 32, 96, "webp")
    store.write([(orphan, b"left by a crashed upload")])
    assert retention.sweep(db, store) == []  # younger than the grace: may be committing
    later = time.time() + 2 * retention.SWEEP_GRACE_SECONDS
    monkeypatch.setattr(retention.time, "time", lambda: later)
    assert retention.sweep(db, store) == [orphan]
    assert orphan not in objects(store)
    assert media_check.check(db, store).ok


def test_check_finds_a_missing_object_and_repairs_it_from_the_master(
    client: TestClient[Any], db: Session, store: MediaStore, member: int
) -> None:
    upload(client, jpeg())
    row = picture(db, 1)
    key = variant_key(member, row.filename, 96, "webp")
    store.remove([key])
    report = media_check.check(db, store)
    assert [(p.key, p.reason) for p in report.problems] == [(key, "missing")]
    assert media_check.check(db, store, repair=True).ok
    assert store.exists(key)


def test_failed_commit_removes_only_its_own_objects(
    client: TestClient[Any],
    db: Session,
    store: MediaStore,
    alice: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = api_support.make_token(db, alice)
    assert api_support.upload(client, token, alice, jpeg("red")).status_code == 201
    before = objects(store)
    fail_the_commit_with(IntegrityError("COMMIT", {}, Exception("taken")), monkeypatch)
    assert api_support.upload(client, token, alice, jpeg("red")).status_code == 409
    assert objects(store) == before


# --- MEDIA_URL_BASE: variants fetched straight from the bucket (or a CDN before it) -------------


@pytest.fixture
def public_base(s3_settings: Settings, s3_server: S3Server) -> str:
    """The bucket's own URL of the store's prefix: SeaweedFS without IAM reads anonymously."""
    bucket = str(s3_settings.media_store).removeprefix("s3://").split("/")[0]
    return f"{s3_server.endpoint}/{bucket}/site/"


@pytest.fixture
def cdn_client(db: Session, s3_settings: Settings, public_base: str) -> Iterator[TestClient[Any]]:
    """An app with MEDIA_URL_BASE."""
    settings = replace(s3_settings, media_url_base=public_base)
    with TestClient(create_app(settings)) as client:
        yield client


def test_media_url_base_points_the_apis_urls_at_the_bucket(
    db: Session, alice: int, cdn_client: TestClient[Any], public_base: str
) -> None:
    token = api_support.make_token(db, alice)
    body = api_support.upload(cdn_client, token, alice, jpeg()).json()
    url = body["urls"]["md"]["webp1x"]
    assert url.startswith(public_base)
    with urllib.request.urlopen(url, timeout=5) as fetched:
        assert fetched.status == 200
        assert fetched.headers["Content-Type"] == "image/webp"
        assert Image.open(io.BytesIO(fetched.read())).format == "WEBP"


def test_media_url_base_origin_is_allowed_in_the_pages_img_src(
    cdn_client: TestClient[Any], s3_server: S3Server
) -> None:
    csp = cdn_client.get("/login").headers["content-security-policy"]
    img_src = next(part for part in csp.split(";") if part.strip().startswith("img-src"))
    assert s3_server.endpoint in img_src.split()


@pytest.mark.avif_copies
def test_avif_copies_made_after_the_answer_land_in_the_bucket(
    app: Litestar, client: TestClient[Any], db: Session, store: MediaStore, member: int
) -> None:
    photo = (Path(__file__).parents[1] / "fixtures" / "pillow_hopper.jpg").read_bytes()
    assert upload(client, photo).status_code == 303
    app.state["followups"].settle()
    row = picture(db, 1)
    assert 384 in row.meta["avif"]
    key = variant_key(member, row.filename, 384, "avif")
    assert key in objects(store)
    response = client.get(variant_url(row, 384, "avif"))
    assert response.status_code == 200 and response.content == store.read(key)
    assert response.headers["content-type"] == "image/avif"
