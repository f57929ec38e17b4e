"""The kept versions on /profile (issue 24): Restore never changes the current picture, "Use this
picture" does, "Remove picture" goes back to the initials, Undo returns the exact state before
its action, the history's own part for live refreshes, and rows that name their own source."""

from __future__ import annotations

import io
from typing import Any

import pytest
from bs4 import Tag
from litestar.testing import TestClient
from PIL import Image
from sqlmodel import Session, col, select

from db.models import AuditLog, ProfilePicture, SyncEvent
from tests.api_support import bearer, history
from tests.api_support import upload as api_upload
from tests.factories import add_member, jpeg, profile_of
from tests.forms import HX, post, upload
from tests.html import one, parse
from web.services.audit import Actor
from web.services.pictures import changes

State = tuple[int | None, frozenset[int]]  # the current version, and the deleted ones


def state_of(db: Session, user_id: int) -> State:
    db.expire_all()
    rows = db.exec(select(ProfilePicture).where(ProfilePicture.user_id == user_id)).all()
    current = [r.version for r in rows if r.is_active]
    assert len(current) <= 1
    assert (profile_of(db, user_id).active_picture_id is None) == (not current)
    deleted = frozenset(r.version for r in rows if r.deleted_at is not None)
    return (current[0] if current else None), deleted


def three_versions(client: TestClient[Any]) -> None:
    for colour in ("red", "green", "blue"):
        assert upload(client, jpeg(colour)).status_code == 303


def row(page: str, version: int) -> Tag:
    """The history row of a version."""
    [found] = [
        li
        for li in parse(page).select("#history .history-item")
        if li.strong and li.strong.get_text() == f"Version {version}"
    ]
    return found


def undo_of(client: TestClient[Any]) -> str:
    """The Undo button's form action in the notice /profile shows now."""
    return str(one(client.get("/profile").text, ".flash form")["action"])


# --- the domain --------------------------------------------------------------------------


def test_restore_brings_a_deleted_version_back_and_never_changes_the_current_one(
    client: TestClient[Any], db: Session, member: int
) -> None:
    three_versions(client)
    changes.delete(db, actor=Actor(member), user_id=member, version=1)
    changes.delete(db, actor=Actor(member), user_id=member)  # version 3, the current one
    assert state_of(db, member) == (2, {1, 3})
    for version in (3, 1):
        assert changes.restore(db, actor=Actor(member), user_id=member, version=version)
        assert state_of(db, member)[0] == 2
    assert state_of(db, member) == (2, frozenset())
    assert changes.restore(db, actor=Actor(member), user_id=member, version=1) is None


def test_restore_after_a_removal_leaves_the_initials(
    client: TestClient[Any], db: Session, member: int
) -> None:
    three_versions(client)
    changes.delete(db, actor=Actor(member), user_id=member, version=2)
    changes.remove(db, actor=Actor(member), user_id=member)
    changes.restore(db, actor=Actor(member), user_id=member, version=2)
    assert state_of(db, member) == (None, frozenset())


def test_use_makes_a_version_current_and_brings_a_deleted_one_back(
    client: TestClient[Any], db: Session, member: int
) -> None:
    three_versions(client)
    changes.delete(db, actor=Actor(member), user_id=member, version=1)
    assert changes.use(db, actor=Actor(member), user_id=member, version=1)
    assert state_of(db, member) == (1, frozenset())
    assert changes.use(db, actor=Actor(member), user_id=member, version=1) is None


def test_remove_shows_the_initials_and_keeps_every_version(
    client: TestClient[Any], db: Session, member: int
) -> None:
    three_versions(client)
    removed = changes.remove(db, actor=Actor(member), user_id=member)
    assert (removed.version, removed.change and removed.change.kind) == (3, "removed")
    assert state_of(db, member) == (None, frozenset())
    profile = profile_of(db, member)
    assert (profile.profile_picture, profile.profile_picture_path) == (None, None)
    assert changes.remove(db, actor=Actor(member), user_id=member).change is None
    assert changes.use(db, actor=Actor(member), user_id=member, version=3)
    assert state_of(db, member) == (3, frozenset())


def test_each_change_records_its_event_kind_and_audit_action(
    client: TestClient[Any], db: Session, member: int
) -> None:
    three_versions(client)
    changes.remove(db, actor=Actor(member), user_id=member)
    changes.use(db, actor=Actor(member), user_id=member, version=2)
    changes.delete(db, actor=Actor(member), user_id=member, version=1)
    changes.restore(db, actor=Actor(member), user_id=member, version=1)
    kinds = db.exec(select(SyncEvent.kind).order_by(col(SyncEvent.id))).all()
    assert kinds[3:] == ["removed", "restored", "deleted", "restored"]
    actions = db.exec(select(AuditLog.action).order_by(col(AuditLog.id))).all()
    assert actions[-4:] == ["picture.remove", "picture.use", "picture.delete", "picture.restore"]
    assert profile_of(db, member).picture_version == 7


# --- the forms and Undo ---------------------------------------------------------------------


@pytest.mark.parametrize("deleted", [3, 2], ids=["the-current-one", "another-one"])
def test_undo_of_a_delete_returns_the_exact_state_before(
    client: TestClient[Any], db: Session, member: int, deleted: int
) -> None:
    three_versions(client)
    before = state_of(db, member)
    post(client, "/profile/picture/delete", version=str(deleted))
    assert state_of(db, member) != before
    undo = undo_of(client)
    assert undo == f"/profile/picture/{deleted}/{'use' if deleted == 3 else 'restore'}"
    assert post(client, undo).status_code == 303
    assert state_of(db, member) == before


def test_undo_of_a_removal_returns_the_exact_state_before(
    client: TestClient[Any], db: Session, member: int
) -> None:
    three_versions(client)
    post(client, "/profile/picture/2/use")
    before = state_of(db, member)
    response = post(client, "/profile/picture/remove", headers=HX)
    assert response.status_code == 200
    notice = one(response.text, ".flash")
    assert notice.get_text(" ", strip=True) == "Picture removed: your initials show instead. Undo"
    assert one(response.text, "#profile-main [data-avatar-size=lg]")["role"] == "img"
    assert parse(response.text).select("#history .history-item.is-active") == []
    assert post(client, str(notice.form["action"])).status_code == 303
    assert state_of(db, member) == before


def test_remove_without_javascript_is_303_and_says_so(
    client: TestClient[Any], db: Session, member: int
) -> None:
    upload(client, jpeg())
    response = post(client, "/profile/picture/remove")
    assert (response.status_code, response.headers["location"]) == (303, "/profile")
    page = client.get("/profile").text
    assert one(page, ".flash").get_text(" ", strip=True).startswith("Picture removed")
    assert parse(page).select("#remove-picture") == []  # nothing left to remove
    assert one(page, "#use-1").get_text(strip=True) == "Use this picture"


def test_remove_picture_is_offered_only_while_a_picture_is_in_use(
    client: TestClient[Any], member: int
) -> None:
    assert parse(client.get("/profile").text).select("#remove-picture") == []
    upload(client, jpeg())
    button = one(client.get("/profile").text, "#history button#remove-picture")
    assert button.get_text(strip=True) == "Remove picture"
    assert button.find_parent("form")["action"] == "/profile/picture/remove"
    response = post(client, "/profile/picture/remove", headers=HX)
    response = post(client, "/profile/picture/remove", headers=HX)
    assert one(response.text, ".flash").get_text(strip=True) == "You have no picture to remove."


def test_every_history_button_has_an_id_of_its_own(client: TestClient[Any], member: int) -> None:
    three_versions(client)
    post(client, "/profile/picture/delete", version="1")
    page = parse(client.get("/profile").text)
    ids = [b.get("id") for b in page.select("#pictures button, #pictures a.button")]
    assert None not in ids
    assert len(ids) == len(set(ids))
    assert {"use-2", "delete-3", "recrop-2", "restore-1", "remove-picture"} <= set(ids)


# --- the history's own part, for live refreshes ---------------------------------------------


def test_the_history_part_carries_the_picture_version_and_listens_for_its_member(
    client: TestClient[Any], db: Session, member: int
) -> None:
    three_versions(client)
    post(client, "/profile/picture/delete", version="1")
    response = client.get("/profile/pictures", headers=HX)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    page = parse(response.text)
    assert page.select_one("html") is None
    part = one(response.text, "div#pictures")
    assert part["data-avatar-version"] == str(profile_of(db, member).picture_version)
    assert part["hx-trigger"] == f"avatar-{member} from:body"
    assert part["hx-get"] == "/profile/pictures"
    assert [s["id"] for s in part.select("section")] == ["history", "deleted"]
    assert one(client.get("/profile").text, "#profile-main div#pictures")


def test_the_history_part_sends_a_browser_to_the_page(client: TestClient[Any], member: int) -> None:
    response = client.get("/profile/pictures", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (302, "/profile")


def test_the_history_part_is_for_members_only(client: TestClient[Any]) -> None:
    response = client.get("/profile/pictures", headers=HX, follow_redirects=False)
    assert response.status_code in (303, 401)


# --- rows that name their own source ---------------------------------------------------------


def webp_bytes(size: tuple[int, int] = (300, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "teal").save(out, "WEBP")
    return out.getvalue()


def test_a_row_names_the_file_the_member_chose_and_its_size(
    client: TestClient[Any], db: Session, member: int
) -> None:
    # The browser's downsized copy is sent under the chosen file's name (static/js).
    copy = webp_bytes()
    upload(client, copy, name="a.png")
    kept = db.exec(select(ProfilePicture)).one()
    assert (kept.original_name, kept.file_size, kept.recrop_of) == ("a.png", len(copy), None)
    meta = row(client.get("/profile").text, 1).select_one(".history-meta").get_text(" ", strip=True)
    assert meta.startswith("a.png 300×200 px")
    assert "uploaded" in meta


def test_a_recrop_row_says_which_version_it_was_cut_from_and_its_own_size(
    client: TestClient[Any], db: Session, member: int
) -> None:
    upload(client, jpeg(size=(600, 300)), name="holiday.jpg")
    post(client, "/profile/picture/1/crop", cropX="", cropY="", cropSize="", turns="1")
    post(client, "/profile/picture/2/crop", cropX="0", cropY="0", cropSize="0.5")
    rows = {r.version: r for r in db.exec(select(ProfilePicture))}
    masters = {v: rows[v].meta["master"]["bytes"] for v in rows}
    assert (rows[2].recrop_of, rows[3].recrop_of) == (1, 2)
    assert rows[2].file_size == masters[2] != rows[1].file_size  # the turned copy's size
    assert rows[3].file_size == masters[2]  # cut from version 2's copy
    assert rows[3].original_name == "holiday.jpg"
    page = client.get("/profile").text
    for version, source in ((2, 1), (3, 2)):
        meta = row(page, version).select_one(".history-meta").get_text(" ", strip=True)
        assert meta.startswith(f"Re-crop of version {source} 300×600 px")
        assert "source" in meta
        assert "holiday.jpg" not in meta


# --- the API ---------------------------------------------------------------------------------


def api_remove(client: TestClient[Any], token: str, user_id: int) -> Any:
    return client.post(
        "/api/profile/remove-picture", headers=bearer(token), json={"userId": str(user_id)}
    )


def test_the_apis_remove_picture_answers_the_default_avatar_and_keeps_every_version(
    client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    api_upload(client, token, alice, jpeg("red"))
    response = api_remove(client, token, alice)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["version"], body["filename"], body["urls"]) == (None, None, None)
    assert body["defaultAvatar"]["initials"] == "AL"
    assert body["pictureVersion"] == 2
    entries = history(client, token, alice).json()["versions"]
    assert [(e["version"], e["isActive"]) for e in entries] == [(1, False)]
    kinds = db.exec(select(SyncEvent.kind).where(SyncEvent.kind != "tokens")).all()
    assert kinds == ["uploaded", "removed"]
    again = api_remove(client, token, alice)
    assert again.json()["pictureVersion"] == 2  # nothing to remove: nothing changed


def test_the_apis_remove_picture_acts_for_the_tokens_member_only(
    client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    bob = add_member(db, "bob", "Bob")
    response = api_remove(client, token, bob)
    assert response.status_code == 403
    refusal = db.exec(select(AuditLog).where(AuditLog.outcome == "denied")).one()
    assert refusal.action == "picture.remove"


def test_the_apis_history_says_which_version_a_recrop_was_cut_from(
    client: TestClient[Any], member: int, token: str
) -> None:
    upload(client, jpeg(size=(600, 300)))
    post(client, "/profile/picture/1/crop", cropX="0", cropY="0", cropSize="0.5")
    entries = history(client, token, member).json()["versions"]
    assert [(e["version"], e["recropOf"]) for e in entries] == [(2, 1), (1, None)]
    assert entries[0]["originalName"] == entries[1]["originalName"] == "me.jpg"
