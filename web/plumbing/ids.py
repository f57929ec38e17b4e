"""Ids that cannot be ids: a page's whole-number path parameter outside 1..MAX_ID is 404.

Litestar's `{x:int}` takes any number of digits, and 10**30 reached the database, where
SQLite's driver cannot bind it (OverflowError: a 500). One check here, after routing and before
the session is read or a body parsed, covers every route's path ids (members, versions, tokens)
and any added later. The JSON API keeps its own answer, a 400 problem+json from its documented
`minimum`/`maximum` (web/routes/api.py `PathUserId`). Form fields that carry an id meet the
same bound where they reach the database (web/services/pictures/reads.py `version_row`).
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.exceptions import NotFoundException
from litestar.types import ASGIApp, Receive, Scope, Send

from db.models import is_id
from web.plumbing.replies import wants_json


def _not_an_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and not is_id(value)


class IdBoundsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        page = scope["type"] == ScopeType.HTTP and not wants_json(scope["path"])
        if page and any(_not_an_id(value) for value in scope["path_params"].values()):
            raise NotFoundException()
        await self.app(scope, receive, send)
