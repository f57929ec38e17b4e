"""API tokens on /profile: create one (shown once), see when each was used, revoke.

Revoking is a plain form post that redirects back to /profile (303); with htmx, the profile's
main part is swapped in place, like the picture actions. Creating answers with the page itself
(200, `Cache-Control: no-store`), the new token in it: a redirect would have to keep the token
somewhere (the session) until the next page, and this way it is never stored but as its hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from web.deps import DB, MEMBERS_ONLY, SignedIn
from web.profile_page import actor_of, done, profile_response
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
        try:
            token = tokens.issue_token(db, actor=actor_of(request, viewer), name=data.name)
        except tokens.TooManyTokens as error:
            return done(request, db, viewer, error.message, category="error", status=409)
        notice = {"message": "Token created.", "category": "ok"}
        return profile_response(request, db, viewer.id, notices=[notice], new_api_token=token)

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
