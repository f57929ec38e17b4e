"""The member's own page and the picture actions on it: upload, a link, the crop suggestion,
preferences (the kept versions' actions: web/routes/history.py).

Each action works as a plain form post (303 back to /profile, the result in a flash, a refusal
too: post/redirect/get) and, with htmx, as an in-place swap of the page's main part plus the
header avatar.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.params import MultipartBody, URLEncodedBody
from litestar.response import Redirect, Response, Template
from sqlmodel import Session

from web.errors import fetch_status
from web.plumbing.deps import DB, MEMBERS_ONLY, SignedIn, media_of, settings_of
from web.plumbing.guards import FORM_SUGGESTION, FORM_UPLOAD
from web.plumbing.replies import service_headers
from web.routes.profile_page import (
    LINK,
    SUGGEST,
    UPLOAD,
    actor_of,
    done,
    htmx,
    profile_response,
    refusal_redirect,
    refused,
    suggestion_too_large,
)
from web.services import imaging
from web.services.accounts import members
from web.services.accounts.members import Viewer
from web.services.fetch import FetchError
from web.services.pictures import from_link, uploads
from web.services.pictures.access import PictureError

OTHER_MEMBER = (
    "This page was opened for another member, and you are now signed in as @{handle}: "
    "nothing was uploaded. Choose the picture again to make it @{handle}'s."
)
# The crop suggestion: a member's multipart form with a cap and an allowance of its own.
SUGGESTION_ROUTE = {"upload": True, FORM_SUGGESTION: True}


@dataclass
class UploadForm:
    profilePicture: UploadFile | None = None  # noqa: N815  (the seed's field names)
    cropX: str = ""  # noqa: N815
    cropY: str = ""  # noqa: N815
    cropSize: str = ""  # noqa: N815
    # Who the page was for: a page left open while another member signed in (in another tab,
    # after a sign-out) must not upload to their picture.
    memberId: str = ""  # noqa: N815
    enhance: str = ""  # the edits (docs/editing.md): on/true; keep/blur/color; #rrggbb
    background: str = ""
    backgroundColor: str = ""  # noqa: N815


@dataclass
class LinkForm:
    pictureUrl: str = ""  # noqa: N815  (like the upload form's field names)


@dataclass
class PreferencesForm:
    # An unticked checkbox sends nothing, so absent means off.
    animate: bool = False


def refused_in_form(
    request: Request[Any, Any, Any],
    db: Session,
    viewer: Viewer,
    form: str,
    message: str,
    status: int,
    *,
    value: str = "",
) -> Response[Any]:
    """A refusal said in the form that was sent (UPLOAD, or LINK with the link as typed): in
    place for htmx, with the service's headers (the scanner down: a wait), else by
    post/redirect/get."""
    if not htmx(request):
        return refusal_redirect(request, form, message, value=value)
    link = form == LINK
    page = profile_response(
        request,
        db,
        viewer.id,
        status,
        upload_error=None if link else message,
        link_error=message if link else None,
        link_url=value,
    )
    page.headers.update(service_headers(status))
    return page


class ProfileController(Controller):
    path = "/profile"
    dependencies = MEMBERS_ONLY

    @get("/", sync_to_thread=True)
    def page(self, request: Request[Any, Any, Any], db: DB, viewer: SignedIn) -> Template:
        return profile_response(request, db, viewer.id)

    @post("/picture", sync_to_thread=True, opt={"upload": True, FORM_UPLOAD: True})
    def upload(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        viewer: SignedIn,
        data: MultipartBody[UploadForm],
    ) -> Response[Any]:
        if data.memberId not in ("", str(viewer.id)):
            said = OTHER_MEMBER.format(handle=viewer.handle)
            return refused_in_form(request, db, viewer, UPLOAD, said, 409)
        settings = settings_of(request.app.state)
        file = data.profilePicture
        try:
            uploaded = uploads.upload(
                db,
                media_of(request.app.state),
                actor=actor_of(request, viewer),
                user_id=viewer.id,
                file=file.file if file and file.filename else None,
                original_name=file.filename if file else "",
                crop=(data.cropX, data.cropY, data.cropSize),
                limits=settings.image_limits(),
                scan=uploads.scanner(settings.clamd_socket),
                edits=imaging.edits_from(data.enhance, data.background, data.backgroundColor),
            )
        except imaging.ImageRejected as error:
            return refused_in_form(request, db, viewer, UPLOAD, error.message, error.status)
        except PictureError as error:  # another change of the member's came first
            return refused(request, db, viewer, error)
        message = f"Version {uploaded.version} uploaded."
        return done(request, db, viewer, message, warnings=uploaded.warnings)

    @post("/picture/from-link", sync_to_thread=True, opt={FORM_UPLOAD: True})
    def from_link(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        viewer: SignedIn,
        data: URLEncodedBody[LinkForm],
    ) -> Response[Any]:
        """The picture at a pasted link, kept like an upload. A refusal is said in the link
        form, with the link as typed."""
        settings = settings_of(request.app.state)
        try:
            uploaded = from_link.import_from_link(
                db,
                media_of(request.app.state),
                actor=actor_of(request, viewer),
                user_id=viewer.id,
                url=data.pictureUrl,
                fetching=from_link.fetching_of(settings),
                limits=settings.image_limits(),
                scan=uploads.scanner(settings.clamd_socket),
            )
        except (FetchError, imaging.ImageRejected, PictureError) as error:
            status = fetch_status(error) if isinstance(error, FetchError) else error.status
            return refused_in_form(
                request, db, viewer, LINK, error.message, status, value=data.pictureUrl
            )
        message = f"Version {uploaded.version} made from the link."
        return done(request, db, viewer, message, warnings=uploaded.warnings)

    @post(SUGGEST.removeprefix("/profile"), sync_to_thread=True, opt=SUGGESTION_ROUTE)
    def suggest_crop(
        self, request: Request[Any, Any, Any], viewer: SignedIn, data: MultipartBody[UploadForm]
    ) -> Response[dict[str, Any]]:
        """The square an upload of this file would get without a crop, as fractions (JSON):
        the cropper starts from it. It is sent the small copy the browser makes (at most
        SUGGESTION_MAX_BYTES, counted in SUGGESTIONS_PER_MINUTE, not as an upload). Refusals
        answer `{"error": sentence}` with the status an upload would get."""
        settings = settings_of(request.app.state)
        file = data.profilePicture
        try:
            found = uploads.suggest_crop(
                file.file if file and file.filename else None,
                replace(settings.image_limits(), max_bytes=settings.suggestion_max_bytes),
                uploads.scanner(settings.clamd_socket),
                user_id=viewer.id,
            )
        except imaging.ImageRejected as error:
            text = suggestion_too_large(settings) if error.code == "too_large" else error.message
            headers = service_headers(error.status)
            return Response({"error": text}, status_code=error.status, headers=headers)
        crop = found.crop
        body = {"x": crop.x, "y": crop.y, "size": crop.size, "source": found.source}
        return Response(body, status_code=200)

    @post("/preferences", sync_to_thread=True)
    def preferences(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        viewer: SignedIn,
        data: URLEncodedBody[PreferencesForm],
    ) -> Template | Redirect:
        members.set_animation(db, user_id=viewer.id, animate=data.animate)
        message = (
            "Your picture plays its animation." if data.animate else "Your picture stays still."
        )
        return done(request, db, viewer, message)
