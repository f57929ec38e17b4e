"""API tokens on /profile: create one (shown once), see when each was used, revoke.

Plain form posts that redirect back to /profile (303); with htmx, the profile's main part is
swapped in place, like the picture actions. A new token waits in the server-side session until
the next render of the profile, which shows it and forgets it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from web.deps import DB, MEMBERS_ONLY, SignedIn
from web.profile_page import NEW_TOKEN_KEY, actor_of, done
from web.services.accounts import tokens


@dataclass
class TokenForm:
    name: str = ""


class TokensController(Controller):
    path = "/profile/tokens"
    dependencies = MEMBERS_ONLY
    include_in_schema = False

    @post("/", sync_to_thread=True)
    def create(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        viewer: SignedIn,
        data: URLEncodedBody[TokenForm],
    ) -> Template | Redirect:
        token = tokens.issue_token(db, actor=actor_of(request, viewer), name=data.name)
        request.session[NEW_TOKEN_KEY] = token
        return done(request, db, viewer, "Token created.")

    @post("/{token_id:int}/revoke", sync_to_thread=True)
    def revoke(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        viewer: SignedIn,
        token_id: FromPath[int],
    ) -> Template | Redirect:
        name = tokens.revoke_token(db, actor=actor_of(request, viewer), token_id=token_id)
        if name is None:
            return done(
                request, db, viewer, "There is no such token.", category="error", status=404
            )
        return done(request, db, viewer, f"Token “{name}” revoked: it no longer works.")
