"""Re-cropping from the private master, purge past the retention window, the orphan sweep."""

from __future__ import annotations

import io
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from litestar.testing import TestClient
from PIL import Image
from sqlmodel import Session, select

from db.models import ProfilePicture, UserProfile
from db.types import utcnow
from tests.factories import jpeg, stored_keys
from tests.forms import post, redirected, upload
from tests.html import one
from web.services.pictures import retention
from web.services.pictures.storage import DiskStore
from web.settings import Settings


def active(db: Session, user_id: int) -> str | None:
    db.expire_all()
    profile = db.get(UserProfile, user_id)
    assert profile is not None
    return profile.profile_picture


def test_recrop_page_shows_the_master_to_its_owner_only(
    client: TestClient[Any], member: int
) -> None:
    upload(client, jpeg(size=(600, 300)))
    page = client.get("/profile/picture/1/crop")
    assert page.status_code == 200
    master = one(page.text, "[data-cropper] img")["src"]
    response = client.get(master)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "private, max-age=3600"
    assert Image.open(io.BytesIO(response.content)).size == (600, 300)
    client.post("/logout", data={"_csrf_token": client.cookies.get("csrftoken", "")})
    client.cookies.clear()
    anonymous = client.get(master, follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == f"/login?next={master}"


def test_recrop_page_starts_from_the_versions_saved_crop(
    client: TestClient[Any], member: int
) -> None:
    upload(client, jpeg(size=(600, 300)), cropX="0.25", cropY="0", cropSize="0.5")
    page = client.get("/profile/picture/1/crop").text
    fields = {
        name: one(page, f"input[name={name}]")["value"] for name in ("cropX", "cropY", "cropSize")
    }
    assert fields == {"cropX": "0.2500", "cropY": "0.0000", "cropSize": "0.5000"}


def test_turned_master_is_served_for_the_rotate_preview(
    client: TestClient[Any], member: int
) -> None:
    upload(client, jpeg(size=(600, 300)))
    response = client.get("/profile/picture/1/master?turns=1")
    assert response.status_code == 200
    assert Image.open(io.BytesIO(response.content)).size == (300, 600)


def test_recrop_turned_right_makes_an_upright_portrait_version(
    client: TestClient[Any], db: Session, member: int
) -> None:
    upload(client, jpeg(size=(600, 300)))
    response = post(client, "/profile/picture/1/crop", cropX="", cropY="", cropSize="", turns="1")
    assert response.status_code == 303
    turned = db.exec(select(ProfilePicture).where(ProfilePicture.version == 2)).one()
    assert (turned.width, turned.height) == (300, 600)


def test_recrop_makes_a_new_version_from_the_master(
    client: TestClient[Any], db: Session, member: int
) -> None:
    upload(client, jpeg(size=(600, 300)))
    before = active(db, member)
    response = post(client, "/profile/picture/1/crop", cropX="0.5", cropY="0", cropSize="1")
    assert response.status_code == 303
    versions = db.exec(select(ProfilePicture.version).where(ProfilePicture.user_id == member)).all()
    assert sorted(versions) == [1, 2]
    assert active(db, member) not in (None, before)


def test_recrop_outside_the_picture_is_refused_and_keeps_the_form(
    client: TestClient[Any], member: int
) -> None:
    upload(client, jpeg(size=(600, 300)))
    response = post(client, "/profile/picture/1/crop", cropX="0.8", cropY="0", cropSize="1")
    page = redirected(client, response, "/profile/picture/1/crop")  # post/redirect/get
    assert "crop" in one(page.text, "[role=alert]").get_text()
    assert one(page.text, "input#cropX")["value"] == "0.8"
    assert one(page.text, "input#cropX")["aria-invalid"] == "true"
    assert one(page.text, "input[name=cropChoice][checked]")["value"] == "exact"


def test_recrop_of_unknown_version_is_404(client: TestClient[Any], member: int) -> None:
    assert client.get("/profile/picture/7/crop").status_code == 404


def test_purge_removes_files_of_versions_deleted_past_the_window(
    client: TestClient[Any], db: Session, settings: Settings, member: int
) -> None:
    upload(client, jpeg("red"))
    upload(client, jpeg("blue"))
    post(client, "/profile/picture/delete", version="1")
    store = DiskStore(settings.media_root)

    def files() -> set[str]:
        return {Path(k).name.split("-")[0].split(".")[0] for k in stored_keys(store, "avatars")}

    assert len(files()) == 2
    assert retention.purge(db, store) == 0  # inside the window: kept for Undo
    assert retention.purge(db, store, now=utcnow() + timedelta(days=31)) == 1
    assert len(files()) == 1
    db.expire_all()
    gone = db.exec(select(ProfilePicture).where(ProfilePicture.version == 1)).one()
    assert gone.purged_at is not None
    assert client.get(f"/media/avatars/{member}/{gone.filename}-96.webp").status_code == 410


def test_sweep_removes_orphans_but_not_fresh_or_kept_files(
    client: TestClient[Any], db: Session, settings: Settings, member: int
) -> None:
    upload(client, jpeg())
    store = DiskStore(settings.media_root)
    orphan = Path(settings.media_root) / "avatars" / str(member) / ("f" * 32 + "-96.webp")
    fresh = orphan.with_name("e" * 32 + "-96.webp")
    orphan.write_bytes(b"x")
    fresh.write_bytes(b"x")
    old = orphan.stat().st_mtime - 2 * retention.SWEEP_GRACE_SECONDS
    os.utime(orphan, (old, old))
    kept = set(stored_keys(store, "avatars")) - {f"avatars/{member}/{orphan.name}"}
    assert retention.sweep(db, store) == [f"avatars/{member}/{orphan.name}"]
    assert set(stored_keys(store, "avatars")) == kept
    assert fresh.exists()
