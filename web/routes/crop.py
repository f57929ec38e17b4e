"""Re-cropping a kept version from its private master, without uploading again; and the files
only a version's owner sees (its master, a deleted version's thumbnail)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Stream, Template
from sqlmodel import Session

from web.plumbing.deps import DB, MEMBERS_ONLY, SignedIn, media_of, settings_of
from web.plumbing.guards import FORM_UPLOAD
from web.plumbing.media_files import send
from web.routes.profile_page import actor_of, done
from web.services import imaging
from web.services.accounts.members import Viewer
from web.services.imaging import cage
from web.services.pictures import reads, recrops
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
    enhance: str = ""  # the edits, as the upload form names them (docs/editing.md)
    background: str = ""
    backgroundColor: str = ""  # noqa: N815


class CropController(Controller):
    path = "/profile/picture/{version:int}"
    dependencies = MEMBERS_ONLY

    @get("/crop", sync_to_thread=True)
    def page(
        self, db: DB, viewer: SignedIn, version: FromPath[int], turns: FromQuery[int] = 0
    ) -> Template | Redirect:
        if turns % 4:  # turned: the saved crop no longer applies, a centred square does
            return _page(db, viewer, version, CropForm("", "", "", turns % 4))
        return _page(db, viewer, version, None)

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
                edits=imaging.edits_from(data.enhance, data.background, data.backgroundColor),
            )
        except imaging.ImageRejected as error:
            return _page(db, viewer, version, data, error.message, error.status)
        except PictureError as error:
            raise NotFoundException(error.message) from None
        message = f"Version {recropped.version} saved from version {version}."
        return done(request, db, viewer, message)


def _send_own(store: MediaStore, key: str, mime: str) -> Stream | Response[bytes]:
    blob = store.open(key)
    if blob is None:  # removed since it was looked up
        raise NotFoundException()
    return send(blob, media_type=mime, headers=OWN_HEADERS)


def _page(
    db: Session,
    viewer: Viewer,
    version: int,
    form: CropForm | None,
    error: str | None = None,
    status: int = 200,
) -> Template:
    """The form starts from the square the version was cut to, so the cropper opens on it."""
    try:
        item = reads.version_item(db, user_id=viewer.id, version=version)
    except PictureError as missing:
        raise NotFoundException(missing.message) from None
    if form is None:  # the page opens on the version's own crop
        x, y, size = item.crop or (0.0, 0.0, 1.0)
        form = CropForm(f"{x:.4f}", f"{y:.4f}", f"{size:.4f}")
    turns = form.turns % 4
    context = {
        "viewer": viewer,
        "item": item,
        "form": form,
        "error": error,
        "turns": turns,
        "master_url": f"/profile/picture/{version}/master" + (f"?turns={turns}" if turns else ""),
    }
    return Template("crop.html", context=context, status_code=status)
