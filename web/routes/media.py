"""Picture files: content-addressed, so cached for a year; never the uploaded bytes."""

from __future__ import annotations

import re

from litestar import get
from litestar.datastructures import State
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath
from litestar.response import File
from litestar.status_codes import HTTP_410_GONE

from web.deps import DB, settings_of
from web.services import pictures
from web.services.imaging_types import EXT_MIME
from web.services.storage import MediaStore

NAME_RE = re.compile(
    r"(?P<digest>[0-9a-f]{32})-(?P<px>\d{2,3})(?P<anim>\.anim)?\.(?P<ext>webp|jpg|png)"
)
MEDIA_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
    # Opened directly, a picture runs nothing and loads nothing.
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
    "Cross-Origin-Resource-Policy": "same-site",
}


@get("/media/avatars/{user_id:int}/{name:str}", sync_to_thread=True, include_in_schema=False)
def avatar_file(db: DB, state: State, user_id: FromPath[int], name: FromPath[str]) -> File:
    match = NAME_RE.fullmatch(name)
    if match is None:
        raise NotFoundException()
    status = pictures.media_status(db, user_id, match["digest"])
    if status == "gone":
        raise HTTPException(status_code=HTTP_410_GONE, detail="This picture was deleted.")
    path = MediaStore(settings_of(state).media_root).path(f"avatars/{user_id}/{name}")
    if status is None or not path.is_file():
        raise NotFoundException()
    return File(
        path,
        media_type=EXT_MIME[match["ext"]],
        content_disposition_type="inline",
        headers=MEDIA_HEADERS,
        etag=None,
    )
