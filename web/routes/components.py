"""Components served alone, for htmx swaps and for integrators' pages."""

from __future__ import annotations

from typing import Literal

from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template
from litestar.status_codes import HTTP_304_NOT_MODIFIED

from web.deps import DB
from web.services import members

Size = Literal["xs", "sm", "md", "lg"]


def avatar_etag(user_id: int, version: int, size: str) -> str:
    return f'"a{user_id}-v{version}-{size}"'


@get("/components/avatar/{user_id:int}", sync_to_thread=True)
def avatar_fragment(
    request: Request,  # type: ignore[type-arg]
    db: DB,
    user_id: FromPath[int],
    size: FromQuery[Size] = "sm",
    lazy: FromQuery[bool] = False,
) -> Template | Response[bytes]:
    avatar = members.avatar_of(db, user_id)
    if avatar is None:
        raise NotFoundException(f"No member has the id {user_id}.")
    etag = avatar_etag(user_id, avatar.version, size)
    headers = {"ETag": etag, "Cache-Control": "no-cache", "Vary": "HX-Request"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
    context = {"avatar": avatar, "size": size, "lazy": lazy}
    return Template("avatar_fragment.html", context=context, headers=headers)
