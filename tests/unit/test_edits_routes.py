"""The edits of issue 28 through the forms and the API: the fields `enhance`, `background` and
`backgroundColor`, what each version records, the history's words, undo by restoring, and the
edit preview with its own allowance and body cap."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

import pytest
from litestar.testing import TestClient
from PIL import Image
from sqlmodel import Session, select

from db.models import ProfilePicture
from tests.api_support import bearer, history
from tests.factories import jpeg
from tests.forms import csrf, log_in, post, upload
from tests.html import one
from tests.images import animated_gif
from tests.unit.test_edits_imaging import photo_jpeg
from web.app import create_app
from web.settings import Settings


def rows(db: Session, user_id: int) -> list[ProfilePicture]:
    db.expire_all()
    query = select(ProfilePicture).where(ProfilePicture.user_id == user_id)
    return list(db.exec(query.order_by(ProfilePicture.version)).all())


def test_the_upload_form_applies_and_records_the_edits(
    client: TestClient[Any], db: Session, member: int
) -> None:
    assert upload(client, photo_jpeg()).status_code == 303
    response = upload(client, photo_jpeg(), enhance="on", background="blur")
    assert response.status_code == 303
    plain, edited = rows(db, member)
    assert (plain.edits, edited.edits) == (None, ["enhance", "background:blur"])
    assert edited.meta["master"] == plain.meta["master"]  # the original as it came
    page = client.get("/profile").text
    assert "enhanced" in page and "background blurred" in page


def test_a_background_colour_is_recorded_and_said(
    client: TestClient[Any], db: Session, member: int
) -> None:
    upload(client, photo_jpeg(), background="color", backgroundColor="#1A6B9C")
    assert rows(db, member)[0].edits == ["background:color:#1a6b9c"]
    assert "background colour #1a6b9c" in client.get("/profile").text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"enhance": "yes"}, "Enhance must be on or off"),
        ({"background": "sepia"}, "The background must be keep, blur or color."),
        ({"background": "color", "backgroundColor": "red"}, "The background colour must be"),
    ],
)
def test_bad_edit_fields_keep_the_form_usable_with_the_reason(
    client: TestClient[Any], db: Session, member: int, fields: dict[str, str], message: str
) -> None:
    response = upload(client, photo_jpeg(), **fields)
    assert response.status_code == 303  # the refusal is said on the page it sends back to
    shown = client.get(response.headers["location"])
    assert message in shown.text
    assert 'id="upload-form"' in shown.text
    assert rows(db, member) == []


def test_restoring_the_earlier_version_undoes_the_edits(
    client: TestClient[Any], db: Session, member: int
) -> None:
    upload(client, photo_jpeg())
    upload(client, photo_jpeg(), enhance="true")
    assert post(client, "/profile/picture/1/use").status_code == 303
    active = [row for row in rows(db, member) if row.is_active]
    assert [(row.version, row.edits) for row in active] == [(1, None)]


def test_the_recrop_form_applies_edits_to_the_new_version_only(
    client: TestClient[Any], db: Session, member: int
) -> None:
    upload(client, photo_jpeg())
    fields = {"cropX": "0", "cropY": "0", "cropSize": "1", "background": "blur"}
    assert post(client, "/profile/picture/1/crop", **fields).status_code == 303
    first, second = rows(db, member)
    assert (first.edits, second.edits, second.recrop_of) == (None, ["background:blur"], 1)
    refused = post(client, "/profile/picture/1/crop", **(fields | {"background": "x"}))
    assert refused.status_code == 303  # the refusal is said on the re-crop page again
    shown = client.get(refused.headers["location"])
    assert "The background must be keep, blur or color." in shown.text
    assert 'name="background"' in shown.text
    assert len(rows(db, member)) == 2


def api_upload(client: TestClient[Any], token: str, user_id: int, **fields: str) -> Any:
    return client.post(
        "/api/profile/upload-picture",
        headers=bearer(token),
        files={"profilePicture": ("me.jpg", photo_jpeg(), "image/jpeg")},
        data={"userId": str(user_id)} | fields,
    )


def test_the_api_takes_the_edits_and_its_history_lists_them(
    client: TestClient[Any], alice: int, token: str
) -> None:
    assert api_upload(client, token, alice).status_code == 201
    edits = {"enhance": "on", "background": "blur"}
    assert api_upload(client, token, alice, **edits).status_code == 201
    versions = history(client, token, alice).json()["versions"]
    assert [(v["version"], v["edits"]) for v in versions] == [
        (2, ["enhance", "background:blur"]),
        (1, []),
    ]
    bad = api_upload(client, token, alice, background="color", backgroundColor="#12345g")
    assert bad.status_code == 422
    assert "The background colour must be" in bad.text


def test_the_schema_documents_the_edit_fields(client: TestClient[Any]) -> None:
    schema = client.get("/schema/openapi.json").json()
    text = str(schema)
    for name in ("enhance", "background", "backgroundColor", "edits"):
        assert f"'{name}'" in text


def preview(client: TestClient[Any], data: bytes, **fields: str) -> Any:
    return client.post(
        "/profile/picture/preview-edits",
        files={"profilePicture": ("small.jpg", data, "image/jpeg")},
        data={"_csrf_token": csrf(client)} | fields,
    )


def test_the_preview_is_the_servers_result_as_a_small_webp(
    client: TestClient[Any], member: int
) -> None:
    plain = preview(client, photo_jpeg())
    blurred = preview(client, photo_jpeg(), enhance="on", background="blur")
    assert blurred.status_code == 200 and blurred.headers["content-type"] == "image/webp"
    with Image.open(io.BytesIO(blurred.content)) as im:
        assert im.size == (192, 192)
    assert plain.content != blurred.content
    bad = preview(client, photo_jpeg(), background="sepia")
    assert bad.status_code == 422
    assert bad.json() == {"error": "The background must be keep, blur or color."}


def test_previews_have_their_own_allowance_and_body_cap(
    settings: Settings, db: Session, alice: int
) -> None:
    small = replace(settings, previews_per_minute=2, uploads_per_minute=1, preview_max_bytes=60_000)
    with TestClient(create_app(small)) as client:
        log_in(client, "alice")
        too_big = preview(client, b"\xff\xd8" + b"x" * 70_000)
        assert too_big.status_code == 413
        assert "larger than" in too_big.json()["error"]
        assert preview(client, photo_jpeg()).status_code == 200
        third = preview(client, photo_jpeg())
        assert third.status_code == 429
        assert int(third.headers["retry-after"]) > 0
        assert third.json()["error"].startswith("Too many previews in a short time: try again in")
        # Previews used up nothing of the uploads' allowance.
        assert upload(client, photo_jpeg()).status_code == 303


def preview_fields(page: str) -> tuple[Any, Any, Any]:
    """The re-crop page's edits preview: where it posts, what picture it copies, the cropper's."""
    fieldset = one(page, "fieldset[data-edits]")
    shown = one(page, "[data-cropper] img")["src"]
    return fieldset.get("data-preview-url"), fieldset.get("data-preview-source"), shown


def test_the_recrop_page_previews_the_edits_of_the_master_as_shown(
    client: TestClient[Any], member: int
) -> None:
    upload(client, jpeg(size=(600, 300)))
    url, source, shown = preview_fields(client.get("/profile/picture/1/crop?turns=1").text)
    assert (url, source) == ("/profile/picture/preview-edits", "/profile/picture/1/master?turns=1")
    assert source == shown  # the picture the cropper shows, turned: the crop's fractions fit it
    turned = client.get(source)
    assert Image.open(io.BytesIO(turned.content)).size == (300, 600)
    copy = io.BytesIO()  # the script's small copy of it (long edge 512 px)
    Image.open(io.BytesIO(turned.content)).resize((256, 512)).save(copy, "JPEG")
    answer = preview(client, copy.getvalue(), cropX="0", cropY="0.25", cropSize="1", enhance="on")
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/webp"


RIGHT = "a[data-rotate]:-soup-contains('Rotate right')"


def test_the_rotate_links_carry_the_edits_chosen(client: TestClient[Any], member: int) -> None:
    upload(client, jpeg(size=(600, 300)))
    page = client.get("/profile/picture/1/crop").text
    assert "enhance" not in one(page, RIGHT)["href"]  # none chosen, none carried
    query = "turns=1&from=0&cropX=0.25&cropY=0&cropSize=1&enhance=on&background=blur"
    turned = client.get(f"/profile/picture/1/crop?{query}").text
    assert one(turned, "input[name=enhance]").has_attr("checked")
    assert one(turned, "input[name=background][value=blur]").has_attr("checked")
    assert one(turned, "input[name=cropY]")["value"] == "0.2500"  # the crop, turned with them
    again = str(one(turned, RIGHT)["href"])  # and the next turn carries them on
    assert "enhance=on" in again and "background=blur" in again


@pytest.mark.parametrize(
    "carried",
    [
        "enhance=off&background=blur",
        "enhance=maybe&background=blur",
        "background=fog",
        "background=color&backgroundColor=red",
    ],
)
def test_edits_a_rotate_link_carries_are_taken_only_as_the_form_would_send_them(
    client: TestClient[Any], member: int, carried: str
) -> None:
    upload(client, jpeg(size=(600, 300)))
    turned = client.get(f"/profile/picture/1/crop?turns=1&from=0&{carried}").text
    assert not one(turned, "input[name=enhance]").has_attr("checked")
    if carried.startswith("enhance=off"):  # a valid "off", with a valid blur
        assert one(turned, "input[name=background][value=blur]").has_attr("checked")
    else:  # one bad value: none of the carried edits
        assert one(turned, "input[name=background][value=keep]").has_attr("checked")
    assert "red" not in str(one(turned, RIGHT)["href"])


def test_an_animated_version_has_no_edits_preview(client: TestClient[Any], member: int) -> None:
    upload(client, animated_gif())  # its edits are refused: no still preview pretends otherwise
    url, source, _ = preview_fields(client.get("/profile/picture/1/crop").text)
    assert (url, source) == (None, None)
