"""Picture files: content-addressed, so cached for a year; never the uploaded bytes. Read from the
store (disk or bucket), so any app process serves any picture."""

from __future__ import annotations

from litestar import Response, get
from litestar.datastructures import State
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath
from litestar.response import Stream
from litestar.status_codes import HTTP_410_GONE

from web.deps import DB, media_of
from web.media_files import send
from web.services.imaging.types import EXT_MIME
from web.services.pictures import reads
from web.services.pictures.names import VARIANT_FILE, variant_key

MEDIA_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
    # Opened directly, a picture runs nothing and loads nothing.
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
    "Cross-Origin-Resource-Policy": "same-site",
}


@get("/media/avatars/{user_id:int}/{name:str}", sync_to_thread=True, include_in_schema=False)
def avatar_file(
    db: DB, state: State, user_id: FromPath[int], name: FromPath[str]
) -> Response[bytes] | Stream:
    match = VARIANT_FILE.fullmatch(name)
    if match is None:
        raise NotFoundException()
    status = reads.media_status(db, user_id, match["name"])
    if status == "gone":
        raise HTTPException(status_code=HTTP_410_GONE, detail="This picture was deleted.")
    key = variant_key(
        user_id, match["name"], int(match["px"]), match["ext"], animated=bool(match["anim"])
    )
    blob = media_of(state).open(key) if status is not None else None
    if blob is None:
        raise NotFoundException()
    return send(blob, media_type=EXT_MIME[match["ext"]], headers=MEDIA_HEADERS)
