"""API tokens on their own page, /profile/tokens: create one (shown once), see when each was
used, revoke.

Revoking is a plain form post that redirects back to /profile/tokens (303); with htmx, the
page's main part is swapped in place, like the picture actions. Creating answers with the page
itself (200, `Cache-Control: no-store`), the new token in it: a redirect would have to keep the
token somewhere (the session) until the next page; this way it is stored only as its hash.
The list alone (/profile/tokens/list) follows changes made elsewhere, live
(components/token_list.html).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from web.plumbing.deps import DB, MEMBERS_ONLY, SignedIn
from web.routes.profile_page import TOKENS, actor_of, done, tokens_response
from web.services.accounts import tokens


@dataclass
class TokenForm:
    name: str = ""


class TokensController(Controller):
    path = "/profile/tokens"
    dependencies = MEMBERS_ONLY
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def page(self, request: Request[Any, Any, Any], db: DB, viewer: SignedIn) -> Template:
        return tokens_response(request, db, viewer.id)

    @get("/list", sync_to_thread=True)
    def token_list(
        self, request: Request[Any, Any, Any], db: DB, viewer: SignedIn
    ) -> Template | Redirect:
        """The token list alone, for htmx, when the member's tokens change elsewhere (another
        tab, the API's use of one); a browser that asks for it is sent to the page."""
        if not request.headers.get("hx-request"):
            return Redirect(TOKENS)
        context = {"viewer": viewer, "api_token_items": tokens.list_tokens(db, viewer.id)}
        headers = {"Cache-Control": "no-store", "Vary": "HX-Request"}
        return Template("token_list_part.html", context=context, headers=headers)

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
            return done(
                request, db, viewer, error.message, category="error", status=409, page=TOKENS
            )
        notice = {"message": "Token created.", "category": "ok"}
        return tokens_response(request, db, viewer.id, notices=[notice], new_api_token=token)

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
                request,
                db,
                viewer,
                "There is no such token.",
                category="error",
                status=404,
                page=TOKENS,
            )
        message = f"Token “{name}” revoked: it no longer works."
        return done(request, db, viewer, message, page=TOKENS)
