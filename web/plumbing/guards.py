"""The upload limit: UPLOADS_PER_MINUTE per member, one count across the forms and every token.

Counted where the member is first known and before a body is read: for the forms, a middleware
(it runs before the CSRF middleware, which reads the whole multipart body to find its token);
for the API, a guard after the Bearer guard has checked the token (a made-up token counts
nothing here: web/api/common.py limits those per address).
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
    Throttled,
    previews_per_member,
    throttle_of,
    uploads_per_member,
)
from web.services.accounts.tokens import ApiCaller

FORM_UPLOAD = "upload_limited"  # the opt key of the form routes that count as uploads
PREVIEW = "edit_preview"  # the opt key of the edit preview: its own allowance and body cap


async def _take_upload(scope: Scope, user_id: int | None) -> None:
    subject = f"member:{user_id}" if user_id is not None else client_address(scope)
    app = scope["app"]
    limit = uploads_per_member(settings_of(app.state).uploads_per_minute)
    if refusal := await throttle_of(app).take(limit, subject):
        raise Throttled(
            "Too many uploads in a short time: wait a minute (see Retry-After).",
            refusal.retry_after,
        )


async def upload_allowance(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """The API's uploads, counted for the token's member."""
    caller: ApiCaller = connection.scope["state"][CALLER_KEY]
    await _take_upload(connection.scope, caller.user_id)


async def preview_allowance(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Edit previews (PREVIEWS_PER_MINUTE), counted for the session's member apart from
    uploads: a member trying settings before uploading does not use up their uploads."""
    app = connection.scope["app"]
    limit = previews_per_member(settings_of(app.state).previews_per_minute)
    subject = f"member:{signed_in_id(connection.scope)}"
    if refusal := await throttle_of(app).take(limit, subject):
        raise Throttled(
            "Too many previews in a short time: wait a minute (see Retry-After).",
            refusal.retry_after,
        )


class FormUploadLimitMiddleware:
    """The forms' uploads, counted for the session's member (a visitor's per address)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = scope.get("route_handler")
        if scope["type"] == ScopeType.HTTP and handler is not None and handler.opt.get(FORM_UPLOAD):
            await _take_upload(scope, signed_in_id(scope))
        await self.app(scope, receive, send)
