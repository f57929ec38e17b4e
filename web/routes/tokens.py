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
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from sqlmodel import Session

from web.deps import DB, MEMBERS_ONLY, SignedIn
from web.routes import profile
from web.services import api_auth
from web.services.audit import Actor
from web.views import Viewer

NEW_TOKEN_KEY = "new_api_token"  # noqa: S105  (a session key, not a secret)


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
        token = api_auth.issue_token(db, actor=_actor(request, viewer), name=data.name)
        request.session[NEW_TOKEN_KEY] = token
        return _back(request, db, viewer, "Token created.")

    @post("/{token_id:int}/revoke", sync_to_thread=True)
    def revoke(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        viewer: SignedIn,
        token_id: FromPath[int],
    ) -> Template | Redirect:
        name = api_auth.revoke_token(db, actor=_actor(request, viewer), token_id=token_id)
        if name is None:
            return _back(request, db, viewer, "There is no such token.", "error", 404)
        return _back(request, db, viewer, f"Token “{name}” revoked: it no longer works.")


def tokens_context(request: Request[Any, Any, Any], db: Session, user_id: int) -> dict[str, Any]:
    """What components/api_tokens.html shows; takes the new token out of the session."""
    new_token = request.session.pop(NEW_TOKEN_KEY, None) if "session" in request.scope else None
    return {"api_token_items": api_auth.list_tokens(db, user_id), "new_api_token": new_token}


def _actor(request: Request[Any, Any, Any], viewer: Viewer) -> Actor:
    return Actor(user_id=viewer.id, ip=request.client.host if request.client else None)


def _back(
    request: Request[Any, Any, Any],
    db: Session,
    viewer: Viewer,
    text: str,
    category: str = "ok",
    status: int = 200,
) -> Template | Redirect:
    notice = {"text": text, "category": category}
    if request.headers.get("hx-request"):
        return profile.profile_response(request, db, viewer.id, status, notices=[notice])
    flash(request, notice, category=category)
    return Redirect("/profile", status_code=303)
