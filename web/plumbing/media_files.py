"""Sending a stored picture file (a `Blob` from the store) as a response: one home for the media
route and the crop page's master."""

from __future__ import annotations

from collections.abc import Mapping

from litestar import Response
from litestar.response import Stream

from web.services.pictures.storage import CHUNK, Blob


def send(blob: Blob, *, media_type: str, headers: Mapping[str, str]) -> Response[bytes] | Stream:
    """A small file (every variant) is read here, in the handler's worker thread, and sent in
    one piece; a larger one is streamed chunk by chunk."""
    if blob.size <= CHUNK:
        return Response(b"".join(blob.chunks), media_type=media_type, headers=dict(headers))
    length = {"Content-Length": str(blob.size)}
    return Stream(blob.chunks, media_type=media_type, headers={**headers, **length})
