"""The member's own page and the picture actions on it: upload, restore, delete.

Each action works as a plain form post (303 back to /profile, the result in a flash) and, with
htmx, as an in-place swap of the page's main part plus the header avatar.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, MultipartBody, URLEncodedBody
from litestar.response import Redirect, Response, Template

from web.deps import DB, MEMBERS_ONLY, SignedIn, settings_of
from web.profile_page import (
    Channels,
    actor_of,
    audit_refusal,
    crop_from,
    done,
    profile_response,
    refused,
)
from web.services import clamav, imaging, members, pictures
from web.services.storage import MediaStore


@dataclass
class UploadForm:
    profilePicture: UploadFile | None = None  # noqa: N815  (the seed's field names)
    cropX: str = ""  # noqa: N815
    cropY: str = ""  # noqa: N815
    cropSize: str = ""  # noqa: N815


@dataclass
class VersionForm:
    version: int | None = None


@dataclass
class RestoreForm:
    activate: bool = True


@dataclass
class PreferencesForm:
    # An unticked checkbox sends nothing, so absent means off.
    animate: bool = False


class ProfileController(Controller):
    path = "/profile"
    dependencies = MEMBERS_ONLY

    @get("/", sync_to_thread=True)
    def page(self, request: Request[Any, Any, Any], db: DB, viewer: SignedIn) -> Template:
        return profile_response(request, db, viewer.id)

    @post("/picture", sync_to_thread=True, opt={"rate_limited": True})
    def upload(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        viewer: SignedIn,
        channels: Channels,
        data: MultipartBody[UploadForm],
    ) -> Template | Redirect | Response[Any]:
        settings = settings_of(request.app.state)
        try:
            upload = _read_upload(data, settings.max_upload_bytes)
            change = pictures.upload(
                db,
                MediaStore(settings.media_root),
                actor=actor_of(request, viewer),
                user_id=viewer.id,
                data=upload,
                original_name=data.profilePicture.filename if data.profilePicture else "",
                crop=crop_from(data.cropX, data.cropY, data.cropSize),
                limits=imaging.Limits(max_bytes=settings.max_upload_bytes),
                scan=partial(clamav.scan, socket_path=settings.clamd_socket)
                if settings.clamd_socket
                else None,
            )
        except imaging.ImageRejected as error:
            audit_refusal(request, viewer, "picture.upload", error.code)
            page = profile_response(
                request, db, viewer.id, error.status, upload_error=error.message
            )
            if error.status == 503:  # the scanner is down: a retry soon may pass
                page.headers["Retry-After"] = "30"
            return page
        except pictures.PictureError as error:  # another change of the member's came first
            return refused(request, db, viewer, "picture.upload", error)
        message = f"Version {change.version} uploaded."
        return done(request, db, viewer, message, channels=channels, change=change)

    @post("/picture/{version:int}/restore", sync_to_thread=True)
    def restore(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        viewer: SignedIn,
        channels: Channels,
        version: FromPath[int],
        data: URLEncodedBody[RestoreForm],
    ) -> Template | Redirect:
        try:
            change = pictures.restore(
                db,
                actor=actor_of(request, viewer),
                user_id=viewer.id,
                version=version,
                activate=data.activate,
            )
        except pictures.PictureError as error:
            return refused(request, db, viewer, "picture.restore", error)
        if change is None:
            return done(request, db, viewer, f"Version {version} is your picture already.")
        message = f"Version {version} restored."
        return done(request, db, viewer, message, channels=channels, change=change)

    @post("/preferences", sync_to_thread=True)
    def preferences(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        viewer: SignedIn,
        channels: Channels,
        data: URLEncodedBody[PreferencesForm],
    ) -> Template | Redirect:
        change = members.set_animation(db, user_id=viewer.id, animate=data.animate)
        message = (
            "Your picture plays its animation." if data.animate else "Your picture stays still."
        )
        return done(request, db, viewer, message, channels=channels, change=change)

    @post("/picture/delete", sync_to_thread=True)
    def delete(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        viewer: SignedIn,
        channels: Channels,
        data: URLEncodedBody[VersionForm],
    ) -> Template | Redirect:
        try:
            change, version, was_active = pictures.delete(
                db, actor=actor_of(request, viewer), user_id=viewer.id, version=data.version
            )
        except pictures.PictureError as error:
            return refused(request, db, viewer, "picture.delete", error)
        undo = {
            "text": f"Version {version} deleted.",
            "undo_version": version,
            "undo_activate": was_active,
        }
        return done(request, db, viewer, undo, channels=channels, change=change)


def _read_upload(form: UploadForm, limit: int) -> bytes:
    upload = form.profilePicture
    if upload is None or not upload.filename:
        raise imaging.ImageRejected(400, "missing", "Choose a picture to upload first.")
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise imaging.rejected("too_large", imaging.Limits(max_bytes=limit))
    return data
