"""The edit preview: the server's own result of enhance and background on a small copy of the
chosen picture, before anything is uploaded (docs/editing.md). Nothing is kept; it has its own
allowance (PREVIEWS_PER_MINUTE) and body cap (PREVIEW_MAX_BYTES), apart from uploads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, Response, post
from litestar.datastructures import UploadFile
from litestar.params import MultipartBody

from web.plumbing.deps import MEMBERS_ONLY, SignedIn, settings_of
from web.plumbing.guards import FORM_PREVIEW
from web.services import imaging
from web.services.imaging import cage
from web.services.pictures import crops, uploads


@dataclass
class PreviewForm:
    profilePicture: UploadFile | None = None  # noqa: N815  (the upload form's names)
    cropX: str = ""  # noqa: N815
    cropY: str = ""  # noqa: N815
    cropSize: str = ""  # noqa: N815
    enhance: str = ""
    background: str = ""
    backgroundColor: str = ""  # noqa: N815


class EditsPreviewController(Controller):
    path = "/profile/picture/preview-edits"
    dependencies = MEMBERS_ONLY

    @post(
        "/",
        sync_to_thread=True,
        opt={"upload": True, FORM_PREVIEW: True},
        status_code=200,
    )
    def preview(
        self, request: Request[Any, Any, Any], viewer: SignedIn, data: MultipartBody[PreviewForm]
    ) -> Response[Any]:
        """A 192 px WebP of the square with the edits; a refusal is JSON, as the crop
        suggestion's: {"error": sentence} with the upload's status."""
        settings = settings_of(request.app.state)
        file = data.profilePicture
        ceilings = settings.image_limits().ceilings
        limits = imaging.Limits(max_bytes=settings.preview_max_bytes, ceilings=ceilings)
        try:
            edits = imaging.edits_from(data.enhance, data.background, data.backgroundColor)
            crop = crops.crop_from((data.cropX, data.cropY, data.cropSize))
            small = uploads.read_capped(file.file if file and file.filename else None, limits)
            webp = cage.preview(small, crop=crop, edits=edits, limits=limits)
        except imaging.ImageRejected as error:
            return Response({"error": error.message}, status_code=error.status)
        headers = {"Cache-Control": "no-store"}
        return Response(webp, media_type="image/webp", headers=headers)
