"""The profile's "Deleted pictures": versions deleted within the retention window, each with
"Restore version N" and the moment it is purged."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlmodel import Session, select

from db.models import ProfilePicture
from tests.conftest import log_in
from tests.factories import jpeg
from tests.html import one, parse
from tests.unit.test_profile_pictures import HX, post, upload
from web.services.pictures.retention import RETENTION


@pytest.fixture
def member(client: TestClient[Any], alice: int) -> int:
    log_in(client, "alice")
    return alice


def deleted_section(text: str) -> Any:
    heading = parse(text).find("h2", string="Deleted pictures")
    return heading.find_parent("section") if heading else None


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
    upload(client, jpeg())
    post(client, "/profile/picture/delete", version="1")
    row = db.exec(select(ProfilePicture)).one()
    assert row.deleted_at is not None
    times = deleted_section(client.get("/profile").text).select("time[datetime]")
    assert (row.deleted_at + RETENTION).isoformat() in [t["datetime"] for t in times]


def test_version_deleted_before_the_window_is_not_listed(
    client: TestClient[Any], db: Session, member: int
) -> None:
    upload(client, jpeg())
    post(client, "/profile/picture/delete", version="1")
    row = db.exec(select(ProfilePicture)).one()
    assert row.deleted_at is not None
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
    assert one(page, "#history .history-item.is-active strong").get_text() == "Version 1"


def test_restore_from_deleted_pictures_with_htmx_swaps_the_list(
    client: TestClient[Any], member: int
) -> None:
    upload(client, jpeg())
    post(client, "/profile/picture/delete", version="1")
    response = post(client, "/profile/picture/1/restore", headers=HX)
    assert response.status_code == 200
    assert deleted_section(response.text) is None
    assert one(response.text, "[role=status]").get_text(strip=True) == "Version 1 restored."
