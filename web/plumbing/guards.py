"""The upload limit: UPLOADS_PER_MINUTE per member, one count across the forms and every token;
and the crop suggestions' own allowance, SUGGESTIONS_PER_MINUTE per member (a suggestion is no
upload: choosing files never uses up the uploads); and the edit previews' own allowance,
PREVIEWS_PER_MINUTE per member, likewise.

Counted where the member is first known and before a body is read: for the forms, a middleware
(it runs before the CSRF middleware, which reads the whole multipart body to find its token);
for the API, a guard after the Bearer guard has checked the token (a made-up token counts
nothing here: web/api/common.py limits those per address). Every refusal says the wait its
Retry-After header gives.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.handlers import BaseRouteHandler
from litestar.types import ASGIApp, Receive, Scope, Send

from web.plumbing.client import client_address
from web.plumbing.deps import CALLER_KEY, settings_of, signed_in_id
from web.plumbing.throttle import (
    Limit,
    Throttled,
    previews_per_member,
    suggestions_per_member,
    throttle_of,
    uploads_per_member,
    wait_text,
)
from web.services.accounts.tokens import ApiCaller

FORM_UPLOAD = "upload_limited"  # the opt key of the form routes that count as uploads
FORM_SUGGESTION = "suggestion_limited"  # the opt key of the crop suggestion's route
FORM_PREVIEW = "preview_limited"  # the opt key of the edit preview's route
TOO_MANY_UPLOADS = "Too many uploads in a short time: try again in {wait}."
TOO_MANY_SUGGESTIONS = (
    "Too many crop suggestions in a short time: try again in {wait}. "
    "You can still place the circle yourself and upload."
)
TOO_MANY_PREVIEWS = (
    "Too many previews in a short time: try again in {wait}. Your choices still apply on upload."
)


def members_form(scope: Scope) -> bool:
    """Whether the route is one of a member's counted forms (an upload, or a suggestion)."""
    handler = scope.get("route_handler")
    return handler is not None and bool(
        handler.opt.get(FORM_UPLOAD)
        or handler.opt.get(FORM_SUGGESTION)
        or handler.opt.get(FORM_PREVIEW)
    )


async def _take(scope: Scope, user_id: int | None, limit: Limit, text: str) -> None:
    subject = f"member:{user_id}" if user_id is not None else client_address(scope)
    if refusal := await throttle_of(scope["app"]).take(limit, subject):
        wait = refusal.retry_after
        raise Throttled(text.format(wait=wait_text(wait)), wait)


async def _take_upload(scope: Scope, user_id: int | None) -> None:
    limit = uploads_per_member(settings_of(scope["app"].state).uploads_per_minute)
    await _take(scope, user_id, limit, TOO_MANY_UPLOADS)


async def upload_allowance(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """The API's uploads, counted for the token's member."""
    caller: ApiCaller = connection.scope["state"][CALLER_KEY]
    await _take_upload(connection.scope, caller.user_id)


class FormUploadLimitMiddleware:
    """The forms' uploads and suggestions, counted for the session's member (a visitor's per
    address, though web/plumbing/body_limit.py sends a visitor to sign in first)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        if scope["type"] == ScopeType.HTTP and handler is not None:
            if handler.opt.get(FORM_UPLOAD):
                await _take_upload(scope, signed_in_id(scope))
            elif handler.opt.get(FORM_SUGGESTION):
                per_minute = settings_of(scope["app"].state).suggestions_per_minute
                limit = suggestions_per_member(per_minute)
                await _take(scope, signed_in_id(scope), limit, TOO_MANY_SUGGESTIONS)
            elif handler.opt.get(FORM_PREVIEW):
                limit = previews_per_member(settings_of(scope["app"].state).previews_per_minute)
                await _take(scope, signed_in_id(scope), limit, TOO_MANY_PREVIEWS)
        await self.app(scope, receive, send)
