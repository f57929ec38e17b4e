"""The profile's "Deleted pictures": versions deleted within the retention window, each with
"Restore version N" (back into the history; the current picture stays) and the moment it is
purged."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from litestar.testing import TestClient
from PIL import Image
from sqlmodel import Session, select

from db.models import ProfilePicture
from tests.factories import add_member, jpeg, profile_of
from tests.forms import HX, log_in, post, upload
from tests.html import one, parse
from web.services.pictures.periods import RETENTION


def deleted_section(text: str) -> Any:
    heading = parse(text).find("h2", string="Deleted pictures")
    return heading.find_parent("section") if heading else None


def uploaded_and_deleted(client: TestClient[Any], db: Session) -> ProfilePicture:
    """One picture uploaded, then deleted with the form: its row, deleted."""
    upload(client, jpeg())
    post(client, "/profile/picture/delete", version="1")
    row = db.exec(select(ProfilePicture)).one()
    assert row.deleted_at is not None
    return row


def test_no_deleted_pictures_no_section(client: TestClient[Any], member: int) -> None:
    upload(client, jpeg())
    assert deleted_section(client.get("/profile").text) is None


def test_deleted_version_is_listed_with_a_restore_button(
    client: TestClient[Any], member: int
) -> None:
    upload(client, jpeg("red"))
    upload(client, jpeg("blue"))
    post(client, "/profile/picture/delete", version="1")
    section = deleted_section(client.get("/profile").text)
    assert section is not None
    button = section.select_one("button[aria-label='Restore version 1']")
    assert button is not None
    assert button.find_parent("form")["action"] == "/profile/picture/1/restore"


def test_deleted_version_says_when_it_is_purged(
    client: TestClient[Any], db: Session, member: int
) -> None:
    row = uploaded_and_deleted(client, db)
    times = deleted_section(client.get("/profile").text).select("time[datetime]")
    assert (row.deleted_at + RETENTION).isoformat() in [t["datetime"] for t in times]


def test_version_deleted_before_the_window_is_not_listed(
    client: TestClient[Any], db: Session, member: int
) -> None:
    row = uploaded_and_deleted(client, db)
    row.deleted_at -= RETENTION + timedelta(minutes=1)
    db.add(row)
    db.commit()
    assert deleted_section(client.get("/profile").text) is None


def test_restore_from_deleted_pictures_brings_it_back_without_htmx(
    client: TestClient[Any], member: int
) -> None:
    upload(client, jpeg())
    post(client, "/profile/picture/delete", version="1")
    assert post(client, "/profile/picture/1/restore").status_code == 303
    page = client.get("/profile").text
    assert deleted_section(page) is None
    assert one(page, "#history .history-item strong").get_text() == "Version 1"
    assert parse(page).select("#history .history-item.is-active") == []  # initials still


def test_restore_from_deleted_pictures_keeps_the_current_picture(
    client: TestClient[Any], db: Session, member: int
) -> None:
    upload(client, jpeg("red"))
    upload(client, jpeg("blue"))
    post(client, "/profile/picture/delete", version="1")
    current = profile_of(db, member).profile_picture
    response = post(client, "/profile/picture/1/restore", headers=HX)
    assert response.status_code == 200
    assert profile_of(db, member).profile_picture == current
    active = one(response.text, "#history .history-item.is-active strong")
    assert active.get_text() == "Version 2"
    button = one(response.text, "#history button[aria-label='Use this picture (version 1)']")
    assert button.find_parent("form")["action"] == "/profile/picture/1/use"


def test_restoring_a_version_that_is_not_deleted_changes_nothing(
    client: TestClient[Any], db: Session, member: int
) -> None:
    upload(client, jpeg("red"))
    version = profile_of(db, member).picture_version
    response = post(client, "/profile/picture/1/restore", headers=HX)
    assert one(response.text, "[role=status]").get_text(strip=True) == (
        "Version 1 is in your pictures already."
    )
    assert profile_of(db, member).picture_version == version


def test_restore_from_deleted_pictures_with_htmx_swaps_the_list(
    client: TestClient[Any], member: int
) -> None:
    upload(client, jpeg())
    post(client, "/profile/picture/delete", version="1")
    response = post(client, "/profile/picture/1/restore", headers=HX)
    assert response.status_code == 200
    assert deleted_section(response.text) is None
    assert one(response.text, "[role=status]").get_text(strip=True) == (
        "Version 1 restored to your pictures."
    )


def deleted_version_1(client: TestClient[Any]) -> str:
    """Alice's version 1, deleted; the public media URL it had."""
    upload(client, jpeg("red"))
    public = one(client.get("/profile").text, "#history .history-item img")["src"]
    upload(client, jpeg("blue"))
    post(client, "/profile/picture/delete", version="1")
    return str(public)


def test_deleted_thumbnail_is_the_small_variant_not_the_master(
    client: TestClient[Any], member: int
) -> None:
    deleted_version_1(client)
    img = deleted_section(client.get("/profile").text).select_one("img")
    assert img["src"] == "/profile/picture/1/thumb"
    response = client.get(img["src"])
    assert response.status_code == 200
    assert response.headers["cache-control"].startswith("private")
    assert Image.open(io.BytesIO(response.content)).size == (80, 80)


def test_deleted_thumbnail_is_gone_from_the_public_media_url(
    client: TestClient[Any], member: int
) -> None:
    public = deleted_version_1(client)
    assert client.get(public).status_code == 410


def test_a_visitor_cannot_see_a_deleted_thumbnail(client: TestClient[Any], member: int) -> None:
    deleted_version_1(client)
    client.cookies.clear()
    response = client.get("/profile/picture/1/thumb", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_another_member_cannot_see_a_deleted_thumbnail(
    client: TestClient[Any], db: Session, member: int
) -> None:
    deleted_version_1(client)
    add_member(db, "bob", "Bob")
    client.cookies.clear()
    log_in(client, "bob")
    assert client.get("/profile/picture/1/thumb").status_code == 404  # bob has no version 1
