"""The member's own page and the picture actions on it: upload, restore, delete.

Each action works as a plain form post (303 back to /profile, the result in a flash) and, with
htmx, as an in-place swap of the page's main part plus the header avatar.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from litestar import Controller, Request, get, post
from litestar.channels import ChannelsPlugin
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.params import FromPath, MultipartBody, URLEncodedBody
from litestar.plugins.flash import flash
from litestar.response import Redirect, Response, Template
from sqlmodel import Session

from web.deps import DB, MEMBERS_ONLY, SignedIn, engine_of, settings_of, signed_in_id
from web.live import publish_change
from web.routes import tokens as api_tokens  # issue 5: the API tokens section of /profile
from web.services import audit, clamav, imaging, members, pictures
from web.services.audit import Actor
from web.services.storage import MediaStore
from web.services.sync import Change
from web.views import Viewer

Channels = NamedDependency[ChannelsPlugin]
FLASH_KEY = "_messages"


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
    def page(
        self, request: Request[Any, Any, Any], db: DB, viewer: SignedIn
    ) -> Template | Redirect:
        notices = [_notice(m) for m in request.session.pop(FLASH_KEY, [])]
        return profile_response(request, db, viewer.id, notices=notices)

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
            return _refused(request, db, viewer, "picture.upload", error)
        return _done(request, db, viewer, channels, change, f"Version {change.version} uploaded.")

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
            return _refused(request, db, viewer, "picture.restore", error)
        if change is None:
            return _done(
                request, db, viewer, channels, None, f"Version {version} is your picture already."
            )
        return _done(request, db, viewer, channels, change, f"Version {version} restored.")

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
        return _done(request, db, viewer, channels, change, message)

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
            return _refused(request, db, viewer, "picture.delete", error)
        notice = {
            "text": f"Version {version} deleted.",
            "category": "ok",
            "undo_version": version,
            "undo_activate": was_active,
        }
        return _done(request, db, viewer, channels, change, notice)


def _read_upload(form: UploadForm, limit: int) -> bytes:
    upload = form.profilePicture
    if upload is None or not upload.filename:
        raise imaging.ImageRejected(400, "missing", "Choose a picture to upload first.")
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise imaging.rejected("too_large", imaging.Limits(max_bytes=limit))
    return data


def crop_from(*fields: str) -> imaging.Crop | None:
    """The crop fields (left, top, side as fractions); all empty means a centred square."""
    if not any(field.strip() for field in fields):
        return None
    try:
        x, y, size = (float(field) for field in fields)
    except ValueError:
        raise imaging.rejected("bad_crop") from None
    return imaging.Crop(x, y, size)


def actor_of(request: Request[Any, Any, Any], viewer: Viewer) -> Actor:
    return Actor(user_id=viewer.id, ip=request.client.host if request.client else None)


def audit_refusal(
    request: Request[Any, Any, Any], viewer: Viewer, action: str, detail: str
) -> None:
    audit.record_refusal(
        engine_of(request.app.state),
        actor=actor_of(request, viewer),
        action=action,
        outcome="invalid",
        subject_id=viewer.id,
        detail=detail,
    )


def _refused(
    request: Request[Any, Any, Any],
    db: Session,
    viewer: Viewer,
    action: str,
    error: pictures.PictureError,
) -> Template | Redirect:
    audit_refusal(request, viewer, action, error.message)
    return _done(
        request, db, viewer, None, None, {"text": error.message, "category": "error"}, error.status
    )


def _done(
    request: Request[Any, Any, Any],
    db: Session,
    viewer: Viewer,
    channels: ChannelsPlugin | None,
    change: Change | None,
    message: str | dict[str, Any],
    status: int = 200,
) -> Template | Redirect:
    """After an action: publish the committed change, then answer htmx or the plain form."""
    if change is not None and channels is not None:
        publish_change(channels, change)
    notice = _notice({"message": message, "category": "ok"})
    if request.headers.get("hx-request"):
        return profile_response(request, db, viewer.id, status, notices=[notice])
    flash(request, notice, category=notice["category"])
    return Redirect("/profile", status_code=303)


def _notice(flashed: dict[str, Any]) -> dict[str, Any]:
    message = flashed.get("message")
    if isinstance(message, dict):
        return {"category": flashed.get("category", "ok")} | message
    return {"text": str(message), "category": flashed.get("category", "ok")}


def profile_response(
    request: Request[Any, Any, Any],
    db: Session,
    user_id: int,
    status: int = 200,
    *,
    upload_error: str | None = None,
    notices: list[dict[str, Any]] | None = None,
) -> Template:
    """The profile page, whole for a browser, its main part (+ header avatar) for htmx."""
    viewer = members.viewer_by_id(db, user_id)
    context = {
        "viewer": viewer,
        "history_items": pictures.history(db, user_id),
        "upload_error": upload_error,
        "notices": notices or [],
        "max_mib": round(settings_of(request.app.state).max_upload_bytes / 2**20, 1),
        "preferences": members.preferences_of(db, user_id),
    }
    context |= api_tokens.tokens_context(request, db, user_id)  # issue 5: API tokens section
    name = "profile_swap.html" if request.headers.get("hx-request") else "profile.html"
    return Template(name, context=context, status_code=status, headers={"Vary": "HX-Request"})


RATE_LIMITED = "You have uploaded many pictures in a short time: please wait a minute."


def upload_refused(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    """413 from the body limit and 429 from the rate limit, shown in the form like any refusal."""
    headers = dict(error.headers or {})
    if "RateLimit-Reset" in headers:
        headers["Retry-After"] = headers["RateLimit-Reset"]
    user_id = signed_in_id(request.scope)
    if user_id is None:
        return Response({"detail": error.detail}, status_code=error.status_code, headers=headers)
    if error.status_code == 413:
        limit = settings_of(request.app.state).max_upload_bytes
        message = imaging.rejected("too_large", imaging.Limits(max_bytes=limit)).message
    else:
        message = RATE_LIMITED
    with Session(engine_of(request.app.state)) as db:
        page = profile_response(request, db, user_id, error.status_code, upload_error=message)
    page.headers.update(headers)
    return page
