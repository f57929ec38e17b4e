"""Upload, restore and delete through the /profile forms, with and without htmx."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from PIL import Image
from sqlmodel import Session, select

from db.models import AuditLog, ProfilePicture, SyncEvent
from tests import images
from tests.factories import jpeg, profile_of
from tests.forms import HX, csrf, log_in, post, redirected, upload
from tests.html import one, parse
from web.plumbing.throttle import wait_text
from web.settings import Settings


def red_then_blue(client: TestClient[Any], db: Session, member: int) -> str | None:
    """Two uploads, red then blue (the current one): the red version's filename."""
    upload(client, jpeg("red"))
    first = profile_of(db, member).profile_picture
    upload(client, jpeg("blue"))
    return first


def test_upload_without_js_is_303_and_shows_the_new_picture(
    client: TestClient[Any], db: Session, member: int
) -> None:
    response = upload(client, jpeg())
    assert response.status_code == 303
    assert response.headers["location"] == "/profile"
    page = client.get("/profile")
    assert one(page.text, ".flash-ok").get_text(strip=True) == "Version 1 uploaded."
    img = one(page.text, "main [data-avatar-size=lg] img")
    digest = profile_of(db, member).profile_picture
    assert img["src"] == f"/media/avatars/{member}/{digest}-192.jpg"
    assert (img["width"], img["height"]) == ("192", "192")
    assert client.get(img["src"]).status_code == 200


def test_upload_with_htmx_swaps_main_and_header_avatar(
    client: TestClient[Any], db: Session, member: int
) -> None:
    response = upload(client, jpeg(), headers=HX)
    assert response.status_code == 200
    assert "HX-Request" in response.headers["vary"]
    page = parse(response.text)
    assert page.select_one("html") is None  # a fragment, not a page
    assert page.select_one("#profile-main [data-avatar-size=lg] img")
    partial = one(response.text, "hx-partial")
    assert partial["hx-target"] == "#header-avatar"
    assert partial.select_one("[data-avatar-size=xs] img")
    assert [li.strong.get_text() for li in page.select("#history .history-item")] == ["Version 1"]


def test_each_change_writes_version_event_and_audit_together(
    client: TestClient[Any], db: Session, member: int
) -> None:
    upload(client, jpeg("red"))
    upload(client, jpeg("blue"))
    events = db.exec(select(SyncEvent).order_by(SyncEvent.id)).all()
    assert [(e.kind, e.picture_version) for e in events] == [("uploaded", 1), ("uploaded", 2)]
    assert profile_of(db, member).picture_version == 2
    audits = db.exec(select(AuditLog).where(AuditLog.outcome == "ok")).all()
    assert [a.action for a in audits] == ["picture.upload", "picture.upload"]
    actives = db.exec(select(ProfilePicture).where(ProfilePicture.is_active)).all()
    assert [p.version for p in actives] == [2]


@pytest.mark.parametrize(
    ("data", "name", "status", "words"),
    [
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "x.svg",
            415,
            "JPEG, PNG, GIF, WebP, HEIC/HEIF or AVIF",
        ),
        (
            b"<html><body>hi</body></html>",
            "photo.png",
            415,
            "JPEG, PNG, GIF, WebP, HEIC/HEIF or AVIF",
        ),
        (b"", "empty.jpg", 415, "empty"),
        (jpeg()[:400], "cut.jpg", 422, "truncated or damaged"),
    ],
)
def test_refused_upload_reshows_form_with_message_and_stores_nothing(
    client: TestClient[Any],
    db: Session,
    member: int,
    data: bytes,
    name: str,
    status: int,
    words: str,
) -> None:
    in_place = upload(client, data, name=name, headers=HX)
    assert in_place.status_code == status
    after = redirected(client, upload(client, data, name=name))  # post/redirect/get
    for page in (in_place, after):
        assert words in one(page.text, "#upload-error").get_text()
        assert one(page.text, "input#profilePicture")["aria-invalid"] == "true"
    assert db.exec(select(ProfilePicture)).all() == []
    refusals = db.exec(select(AuditLog).where(AuditLog.outcome == "invalid")).all()
    assert len(refusals) == 2


def test_upload_without_a_file_is_400(client: TestClient[Any], member: int) -> None:
    response = client.post(
        "/profile/picture",
        files={"profilePicture": ("", b"", "application/octet-stream")},
        data={"_csrf_token": csrf(client)},
        headers=HX,
    )
    assert response.status_code == 400
    assert "Choose a picture" in one(response.text, "#upload-error").get_text()


def test_upload_over_cap_is_413_and_keeps_old_picture(
    client: TestClient[Any], db: Session, member: int
) -> None:
    upload(client, jpeg())
    before = profile_of(db, member).profile_picture
    too_big = b"\xff\xd8\xff" + b"\0" * (11 * 1024 * 1024)
    assert upload(client, too_big, headers=HX).status_code == 413
    page = redirected(client, upload(client, too_big))
    assert "larger than 10" in one(page.text, "#upload-error").get_text()
    assert profile_of(db, member).profile_picture == before


def test_bad_crop_is_422(client: TestClient[Any], member: int) -> None:
    response = upload(client, jpeg(), cropX="0.9", cropY="0", cropSize="0.5", headers=HX)
    assert response.status_code == 422
    assert "crop" in one(response.text, "#upload-error").get_text()


def test_crop_box_changes_the_picture(client: TestClient[Any], db: Session, member: int) -> None:
    upload(client, jpeg())
    first = profile_of(db, member).profile_picture
    upload(client, jpeg(), cropX="0", cropY="0", cropSize="0.5")
    assert profile_of(db, member).profile_picture != first


def test_use_this_picture_makes_an_old_version_current(
    client: TestClient[Any], db: Session, member: int
) -> None:
    first = red_then_blue(client, db, member)
    response = post(client, "/profile/picture/1/use", headers=HX)
    assert response.status_code == 200
    assert one(response.text, ".flash").get_text(strip=True) == "Version 1 is your picture now."
    assert profile_of(db, member).profile_picture == first
    assert profile_of(db, member).picture_version == 3


def test_use_this_picture_shows_on_every_row_but_the_current_one(
    client: TestClient[Any], member: int
) -> None:
    upload(client, jpeg("red"))
    upload(client, jpeg("blue"))
    page = parse(client.get("/profile").text)
    buttons = page.select("#history button[id^=use-]")
    assert [b.get_text(strip=True) for b in buttons] == ["Use this picture"]
    assert buttons[0]["aria-label"] == "Use this picture (version 1)"
    assert page.select("#history button[aria-label^=Restore]") == []


def test_using_the_current_version_changes_nothing(
    client: TestClient[Any], db: Session, member: int
) -> None:
    upload(client, jpeg("red"))
    response = post(client, "/profile/picture/1/use", headers=HX)
    assert one(response.text, ".flash").get_text(strip=True) == "Version 1 is your picture already."
    assert profile_of(db, member).picture_version == 1


@pytest.mark.parametrize("action", ["use", "restore"])
def test_use_or_restore_of_unknown_version_is_404(
    client: TestClient[Any], member: int, action: str
) -> None:
    response = post(client, f"/profile/picture/9/{action}", headers=HX)
    assert response.status_code == 404
    assert "no version 9" in one(response.text, ".flash").get_text()


def test_delete_falls_back_to_previous_version_then_default(
    client: TestClient[Any], db: Session, member: int
) -> None:
    first = red_then_blue(client, db, member)
    response = post(client, "/profile/picture/delete", headers=HX)
    assert response.status_code == 200
    assert [
        li.strong.get_text() for li in parse(response.text).select("#history .history-item")
    ] == ["Version 1"]
    assert profile_of(db, member).profile_picture == first
    post(client, "/profile/picture/delete")
    profile = profile_of(db, member)
    assert (profile.active_picture_id, profile.profile_picture) == (None, None)
    page = client.get("/profile")
    assert one(page.text, "main [data-avatar-size=lg]")["role"] == "img"  # initials again


def test_undo_after_delete_restores_the_picture(
    client: TestClient[Any], db: Session, member: int
) -> None:
    upload(client, jpeg())
    digest = profile_of(db, member).profile_picture
    post(client, "/profile/picture/delete")
    page = client.get("/profile")
    undo = one(page.text, ".flash form")
    assert undo["action"] == "/profile/picture/1/use"
    assert post(client, undo["action"]).status_code == 303
    assert profile_of(db, member).profile_picture == digest


def test_media_is_immutable_exactly_typed_and_sandboxed(
    client: TestClient[Any], db: Session, member: int
) -> None:
    upload(client, jpeg())
    digest = profile_of(db, member).profile_picture
    for ext, mime in (("webp", "image/webp"), ("jpg", "image/jpeg")):
        response = client.get(f"/media/avatars/{member}/{digest}-96.{ext}")
        assert response.status_code == 200
        assert response.headers["content-type"] == mime
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in response.headers["content-security-policy"]
        assert Image.open(io.BytesIO(response.content)).size == (96, 96)


def test_media_of_deleted_version_is_410(client: TestClient[Any], db: Session, member: int) -> None:
    upload(client, jpeg())
    digest = profile_of(db, member).profile_picture
    post(client, "/profile/picture/delete")
    assert client.get(f"/media/avatars/{member}/{digest}-96.webp").status_code == 410


def test_media_stops_at_once_when_deleted_and_comes_back_on_undo(
    client: TestClient[Any], db: Session, member: int
) -> None:
    upload(client, jpeg())
    url = f"/media/avatars/{member}/{profile_of(db, member).profile_picture}-96.webp"
    assert client.get(url).status_code == 200  # now in this process's read cache
    post(client, "/profile/picture/delete")
    assert client.get(url).status_code == 410
    post(client, "/profile/picture/1/use")
    assert client.get(url).status_code == 200


def test_media_etag_is_its_name_and_answers_304_with_the_same_headers(
    client: TestClient[Any], db: Session, member: int
) -> None:
    upload(client, jpeg())
    name = f"{profile_of(db, member).profile_picture}-96.webp"
    first = client.get(f"/media/avatars/{member}/{name}")
    assert first.headers["etag"] == f'"{name}"'
    again = client.get(f"/media/avatars/{member}/{name}", headers={"If-None-Match": f'"{name}"'})
    assert again.status_code == 304
    assert again.content == b""
    for header in ("cache-control", "content-security-policy", "x-content-type-options", "etag"):
        assert again.headers[header] == first.headers[header]


@pytest.mark.parametrize("name", ["../../secret_key", "abc.webp", "0" * 32 + "-96.svg"])
def test_media_with_a_foreign_name_is_404(client: TestClient[Any], member: int, name: str) -> None:
    assert client.get(f"/media/avatars/{member}/{name}").status_code == 404


def test_original_name_is_shown_escaped(client: TestClient[Any], member: int) -> None:
    upload(client, jpeg(), name="<img src=x onerror=alert(1)>.jpg")
    meta = one(client.get("/profile").text, ".history-meta")
    assert "<img src=x onerror=alert(1)>.jpg" in meta.get_text()
    assert not meta.select("img")


def test_failed_commit_leaves_no_files(
    client: TestClient[Any], settings: Settings, member: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr("web.services.pictures.versions.record_change", broken)
    assert upload(client, jpeg()).status_code == 500
    assert [p for p in Path(settings.media_root).rglob("*") if p.is_file()] == []


def test_anonymous_upload_goes_to_login(client: TestClient[Any], alice: int) -> None:
    response = upload(client, jpeg())
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_rate_limit_is_429_with_retry_after(settings: Settings, alice: int) -> None:
    from dataclasses import replace

    from web.app import create_app

    app: Litestar = create_app(replace(settings, uploads_per_minute=2))
    with TestClient(app) as client:
        log_in(client, "alice")
        statuses = [upload(client, jpeg(), headers=HX).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        refused = upload(client, jpeg(), headers=HX)
        wait = int(refused.headers["retry-after"])
        assert 0 < wait <= 60
        # The sentence says the header's wait, to the second.
        said = one(refused.text, "#upload-error").get_text()
        assert f"try again in {wait_text(wait)}." in said
        assert wait_text(wait).endswith(("seconds", "second"))
        page = redirected(client, upload(client, jpeg()))  # a plain form: post/redirect/get
        assert "try again in" in one(page.text, "#upload-error").get_text()


def test_animated_picture_plays_unless_its_member_turns_it_off(
    client: TestClient[Any], db: Session, member: int
) -> None:
    upload(client, images.animated_gif(), name="wave.gif")
    card = one(client.get("/members").text, "[data-avatar-size=md] picture")
    motion = card.select_one("source[media]")
    assert motion is not None and motion["media"] == "(prefers-reduced-motion: no-preference)"
    files = dict(reversed(candidate.split()) for candidate in motion["srcset"].split(", "))
    assert files["96w"].endswith("-96.anim.webp")
    assert client.get(files["96w"]).headers["content-type"] == "image/webp"
    version = profile_of(db, member).picture_version

    response = post(client, "/profile/preferences", headers=HX)  # the box unticked
    assert one(response.text, ".flash").get_text(strip=True) == "Your picture stays still."
    assert profile_of(db, member).picture_version == version + 1
    still = one(client.get("/members").text, "[data-avatar-size=md] picture")
    assert still.select_one("source[media]") is None
    assert one(client.get("/profile").text, "input[name=animate]").get("checked") is None

    post(client, "/profile/preferences", animate="true")
    assert one(client.get("/members").text, "[data-avatar-size=md] source[media]")
