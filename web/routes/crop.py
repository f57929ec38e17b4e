"""Re-cropping a kept version from its private master, without uploading again; and the files
only a version's owner sees (its master, a deleted version's thumbnail).

Without JavaScript the page is a simple choice (services/pictures/crops.py: the face, when one
is found, and the default then; centre or an edge; exact fractions), each option drawn over the
picture by the server; with it, the cropper's circle writes the exact fractions. A refusal
follows post/redirect/get: back to the page, what was chosen kept in a flash.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, QueryParameter, URLEncodedBody
from litestar.response import Redirect, Stream, Template
from sqlmodel import Session

from web.plumbing.deps import DB, MEMBERS_ONLY, SignedIn, media_of, settings_of
from web.plumbing.guards import FORM_UPLOAD
from web.plumbing.media_files import send
from web.routes.profile_page import (
    PREVIEW_EDITS,
    actor_of,
    done,
    form_refusal,
    refusal_redirect,
)
from web.services import imaging
from web.services.accounts.members import Viewer
from web.services.imaging import cage
from web.services.pictures import crops, reads, recrops
from web.services.pictures.access import PictureError
from web.services.pictures.storage import MediaStore

THUMB_PX = 80  # the history rows' 40 px pictures, at 2x
# A member's own files, deleted versions' included: for their eyes only, never kept by others.
OWN_HEADERS = {
    "Cache-Control": "private, max-age=3600",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "same-origin",  # no other site may load a private master
}


@dataclass
class CropForm:
    cropX: str = "0"  # noqa: N815  (the same names as the upload form)
    cropY: str = "0"  # noqa: N815
    cropSize: str = "1"  # noqa: N815
    turns: int = 0  # quarter turns clockwise of the master before the crop (0-3)
    # face, centre, left, right, top, bottom or exact (crops.CHOICES); empty: exact
    cropChoice: str = ""  # noqa: N815
    enhance: str = ""  # the edits, as the upload form names them (docs/editing.md)
    background: str = ""
    backgroundColor: str = ""  # noqa: N815


CROP = "crop"  # the form a refusal is said in


class CropController(Controller):
    path = "/profile/picture/{version:int}"
    dependencies = MEMBERS_ONLY

    @get("/crop", sync_to_thread=True)
    def page(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        viewer: SignedIn,
        version: FromPath[int],
        turns: FromQuery[int] = 0,
        turned_from: Annotated[int | None, QueryParameter(name="from")] = None,
        cropX: FromQuery[str] = "",  # noqa: N803  (the form's names)
        cropY: FromQuery[str] = "",  # noqa: N803
        cropSize: FromQuery[str] = "",  # noqa: N803
        enhance: FromQuery[str] = "",
        background: FromQuery[str] = "",
        backgroundColor: FromQuery[str] = "",  # noqa: N803
    ) -> Template:
        """The page at `turns`; a Rotate link also says the crop it had (at turns `from`),
        which the page starts from turned with the picture, and the edits chosen (the preview
        goes on showing them); a refused post, redirected here, the form as it was sent."""
        refusal, notices = form_refusal(request, (CROP,))
        if refusal:
            sent = CropForm(**refusal["value"])
            sent.cropChoice = sent.cropChoice or crops.EXACT  # as recrop() read it
            return _page(request, db, viewer, version, sent, notices, refusal["text"])
        if turned_from is not None:
            start = CropForm(cropX, cropY, cropSize, turned_from % 4)
            _carry_edits(start, enhance, background, backgroundColor)
            return _page(request, db, viewer, version, start, notices, rotate_to=turns % 4)
        if turns % 4:  # turned, the crop not said: a centred square
            turned = CropForm("", "", "", turns % 4)
            return _page(request, db, viewer, version, turned, notices)
        return _page(request, db, viewer, version, None, notices)

    @get("/master", sync_to_thread=True)
    def master(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        viewer: SignedIn,
        version: FromPath[int],
        turns: FromQuery[int] = 0,
    ) -> Response[bytes] | Stream:
        """The cleaned, uncropped master (turned, for the re-crop page's rotate buttons): its
        owner's eyes only, never cached by others."""
        store = media_of(request.app.state)
        try:
            key, mime = reads.master_of(db, store, user_id=viewer.id, version=version)
        except PictureError:
            raise NotFoundException() from None
        if turns % 4:
            limits = settings_of(request.app.state).image_limits()
            turned = cage.rotated(store.read(key), turns % 4, limits)
            mime = imaging.MIME_TYPES[imaging.sniff_format(turned[:16])]
            return Response(turned, media_type=mime, headers=OWN_HEADERS)
        return _send_own(store, key, mime)

    @get("/thumb", sync_to_thread=True)
    def thumb(
        self, request: Request[Any, Any, Any], db: DB, viewer: SignedIn, version: FromPath[int]
    ) -> Stream | Response[bytes]:
        """A small picture of any of the member's versions, deleted or not: the public media
        URL of a deleted version answers 410 to everyone, its owner sees it here."""
        store = media_of(request.app.state)
        try:
            key, mime = reads.own_variant_of(
                db, store, user_id=viewer.id, version=version, px=THUMB_PX
            )
        except PictureError:
            raise NotFoundException() from None
        return _send_own(store, key, mime)

    @post("/crop", sync_to_thread=True, opt={FORM_UPLOAD: True})
    def recrop(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        viewer: SignedIn,
        version: FromPath[int],
        data: URLEncodedBody[CropForm],
    ) -> Template | Redirect:
        try:
            recropped = recrops.recrop(
                db,
                media_of(request.app.state),
                actor=actor_of(request, viewer),
                user_id=viewer.id,
                version=version,
                crop=(data.cropX, data.cropY, data.cropSize),
                turns=data.turns % 4,
                limits=settings_of(request.app.state).image_limits(),
                choice=data.cropChoice,
                edits=imaging.edits_from(data.enhance, data.background, data.backgroundColor),
            )
        except imaging.ImageRejected as error:
            turned = f"?turns={data.turns % 4}" if data.turns % 4 else ""
            page = f"/profile/picture/{version}/crop{turned}"
            return refusal_redirect(request, CROP, error.message, value=asdict(data), page=page)
        except PictureError as error:
            raise NotFoundException(error.message) from None
        message = f"Version {recropped.version} saved from version {version}."
        return done(request, db, viewer, message, warnings=recropped.warnings)


def _send_own(store: MediaStore, key: str, mime: str) -> Stream | Response[bytes]:
    blob = store.open(key)
    if blob is None:  # removed since it was looked up
        raise NotFoundException()
    return send(blob, media_type=mime, headers=OWN_HEADERS)


def _page(
    request: Request[Any, Any, Any],
    db: Session,
    viewer: Viewer,
    version: int,
    form: CropForm | None,
    notices: list[dict[str, Any]],
    error: str | None = None,
    *,
    rotate_to: int | None = None,
) -> Template:
    """The form starts from the square the version was cut to, so the cropper opens on it;
    turned (`rotate_to`), from the form's square turned with the picture; without JavaScript,
    the choice opens on the face when one is found."""
    try:
        item = reads.version_item(db, user_id=viewer.id, version=version)
        form = _starting(form, item, rotate_to)
        offer = _offer(request, db, viewer, version, form)
    except PictureError as missing:
        raise NotFoundException(missing.message) from None
    turns = form.turns % 4
    context = {
        "viewer": viewer,
        "item": item,
        "form": form,
        "error": error,
        "turns": turns,
        "offer": offer,
        "checked": form.cropChoice or offer.opening(),
        "notices": notices,
        "master_url": f"/profile/picture/{version}/master" + (f"?turns={turns}" if turns else ""),
        "rotate_urls": {name: _rotate_url(form, by) for name, by in ROTATE.items()},
        # The edits preview, of the master as shown (its still copy): none for an animation,
        # whose edits are refused, so that no preview shows what the save will not give.
        "preview_url": "" if item.animated else PREVIEW_EDITS,
    }
    return Template("crop.html", context=context)


def _offer(
    request: Request[Any, Any, Any], db: Session, viewer: Viewer, version: int, form: CropForm
) -> crops.Offer:
    """The squares the page offers, the form's exact fractions among them."""
    return crops.offer(
        db,
        media_of(request.app.state),
        user_id=viewer.id,
        version=version,
        turns=form.turns % 4,
        fields=(form.cropX, form.cropY, form.cropSize),
        limits=settings_of(request.app.state).image_limits(),
    )


def _starting(form: CropForm | None, item: reads.HistoryItem, rotate_to: int | None) -> CropForm:
    """The form the page starts from: the version's own crop, unless one is given; turned to
    `rotate_to` with the picture."""
    if form is None:
        x, y, size = item.crop or (0.0, 0.0, 1.0)
        form = CropForm(f"{x:.4f}", f"{y:.4f}", f"{size:.4f}")
    return form if rotate_to is None else _rotated(form, item, rotate_to)


ROTATE = {"left": 3, "right": 1}  # quarter turns clockwise of each Rotate link
EDIT_FIELDS = ("enhance", "background", "backgroundColor")  # the edits a Rotate link carries


def _carry_edits(form: CropForm, enhance: str, background: str, colour: str) -> None:
    """The edits a Rotate link carried, as the form writes them; none if any is not one the
    form can send (the link is a URL anyone can type)."""
    try:
        edits = imaging.edits_from(enhance, background, colour)
    except imaging.ImageRejected:
        edits = imaging.NO_EDITS
    form.enhance = "on" if edits.enhance else ""
    form.background = "" if edits.background == "keep" else edits.background
    form.backgroundColor = edits.color


def _rotate_url(form: CropForm, by: int) -> str:
    """A Rotate link: the next turn, and the crop the page has now (the scripts keep it and the
    edits in step with the box and the choices), for the next page to turn with the picture."""
    query: dict[str, str | int] = {"turns": (form.turns + by) % 4, "from": form.turns % 4}
    if all((form.cropX, form.cropY, form.cropSize)):
        query |= {"cropX": form.cropX, "cropY": form.cropY, "cropSize": form.cropSize}
    edits = {name: getattr(form, name) for name in EDIT_FIELDS}
    return "?" + urlencode(query | {name: value for name, value in edits.items() if value})


def _rotated(form: CropForm, item: reads.HistoryItem, turns: int) -> CropForm:
    """The form's square (at form.turns), turned with the picture to `turns`; a centred square
    when the form holds none that fits the picture."""
    width, height = item.width, item.height  # the master, upright
    if form.turns % 2:
        width, height = height, width
    try:
        crop = crops.crop_from((form.cropX, form.cropY, form.cropSize))
        turned = crop.turned(width, height, turns - form.turns) if crop else None
    except imaging.ImageRejected:
        turned = None
    if turned is None:  # the edits chosen stay as they were
        return replace(form, cropX="", cropY="", cropSize="", turns=turns)
    x, y, size = (f"{value:.4f}" for value in (turned.x, turned.y, turned.size))
    return replace(form, cropX=x, cropY=y, cropSize=size, turns=turns)
