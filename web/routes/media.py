"""Picture files: content-addressed, so cached for a year; never the uploaded bytes. Read from the
store (disk or bucket), so any app process serves any picture.

Whether a file may be served (a kept version uses it: else 410 or 404) comes from the read
cache (web/caches/reads.py), and a small file's bytes are kept in memory once read: a GET of a
cached picture is answered on the event loop, with no database read, no file open and no
worker thread. The name is the hash of the content, so it is the ETag too.
"""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from litestar import Request, Response, get
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath
from litestar.response import Stream
from litestar.status_codes import HTTP_304_NOT_MODIFIED, HTTP_410_GONE

from web.caches.reads import FileCache, ReadCache, read_cache
from web.plumbing.caching import IMMUTABLE
from web.plumbing.deps import media_of
from web.plumbing.media_files import send
from web.services.imaging.types import EXT_MIME
from web.services.pictures.names import VARIANT_FILE, variant_key
from web.services.pictures.storage import CHUNK, Blob, MediaStore

MEDIA_HEADERS = {
    "Cache-Control": IMMUTABLE,
    "X-Content-Type-Options": "nosniff",
    # Opened directly, a picture runs nothing and loads nothing.
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; sandbox",
    # Public files, meant to be embedded anywhere: other apps and emails (web/routes/avatar_url.py).
    "Cross-Origin-Resource-Policy": "cross-origin",
}


@get("/media/avatars/{user_id:int}/{name:str}", include_in_schema=False)
async def avatar_file(
    request: Request[Any, Any, Any], user_id: FromPath[int], name: FromPath[str]
) -> Response[bytes] | Stream:
    match = VARIANT_FILE.fullmatch(name)
    if match is None:
        raise NotFoundException()
    state = request.app.state
    status = await _status(read_cache(state), user_id, match["name"])
    if status == "gone":
        raise HTTPException(status_code=HTTP_410_GONE, detail="This picture was deleted.")
    if status is None:
        raise NotFoundException()
    headers = MEDIA_HEADERS | {"ETag": f'"{name}"'}
    if f'"{name}"' in request.headers.get("if-none-match", ""):
        return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
    key = variant_key(
        user_id, match["name"], int(match["px"]), match["ext"], animated=bool(match["anim"])
    )
    body = await _body(read_cache(state).files, media_of(state), key)
    if body is None:
        raise NotFoundException()
    media_type = EXT_MIME[match["ext"]]
    if isinstance(body, Blob):
        return send(body, media_type=media_type, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


async def _status(cache: ReadCache, user_id: int, name: str) -> str | None:
    reads = cache.get(user_id)
    if reads is None or (reads.avatar is not None and reads.media_status(name) is None):
        # Not cached, or a name a member's entry does not know: perhaps an upload whose event
        # is on its way. The database says. (A member read missing stays so for a few seconds.)
        reads = await to_thread.run_sync(cache.load, user_id)
    return reads.media_status(name)


async def _body(files: FileCache, store: MediaStore, key: str) -> bytes | Blob | None:
    body = files.get(key)
    if body is not None:
        return body
    found = await to_thread.run_sync(_read_small, store, key)
    if isinstance(found, bytes):
        files.put(key, found)
    return found


def _read_small(store: MediaStore, key: str) -> bytes | Blob | None:
    """A small file's bytes (every variant is one); a larger one opened for streaming."""
    blob = store.open(key)
    if blob is None or blob.size > CHUNK:
        return blob
    return b"".join(blob.chunks)
