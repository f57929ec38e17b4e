"""The application factory: `create_app(settings)` builds everything; importing does nothing.

An app is its long-lived parts (web/parts.py: engine, live hub, caches, stores), the routes, the
middleware in the order a request meets it, and one exception handler (web/errors.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Litestar, Request
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.plugins.flash import FlashConfig, FlashPlugin
from litestar.response import Response
from litestar.static_files import create_static_files_router
from litestar.types import (
    ControllerRouterHandler,
    ExceptionHandler,
    ExceptionHandlersMap,
    Middleware,
)

from web import errors, parts
from web.api.common import openapi_config
from web.errors import Answer
from web.live import events, subscriptions
from web.overrides.litestar_entry import enter_app
from web.overrides.upload_memory import keep_uploads_in_memory
from web.plumbing import deps
from web.plumbing.answered import AnsweredInSession
from web.plumbing.assets import AssetUrls
from web.plumbing.body_limit import BodyLimitMiddleware
from web.plumbing.caching import compression, static_cache
from web.plumbing.guards import FormUploadLimitMiddleware
from web.plumbing.headers import security_headers
from web.plumbing.ids import IdBoundsMiddleware
from web.plumbing.logs import RequestLogMiddleware, log_response
from web.plumbing.throttle import Throttled
from web.routes import (
    admin,
    api,
    auth,
    avatar_url,
    components,
    crop,
    edits,
    health,
    history,
    media,
    pages,
    profile,
    tokens,
)
from web.routes.profile_page import store_refused, upload_refused
from web.services.accounts import passwords
from web.services.pictures.storage import StoreUnavailable
from web.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
FORM_ROOM = 64 * 1024  # a request's body beyond its upload: the form's other fields


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    held = parts.build(settings)
    keep_uploads_in_memory(settings.max_upload_bytes)
    passwords.use(settings.password_hasher)
    handlers = _errors()
    return App(
        route_handlers=_routes(),
        dependencies=_dependencies(),
        middleware=_middleware(held.sessions.middleware, handlers[Exception]),
        csrf_config=_csrf(settings),
        template_config=held.templates,
        plugins=[FlashPlugin(FlashConfig(template_config=held.templates)), held.channels],
        stores=held.stores,
        exception_handlers=handlers,
        openapi_config=openapi_config(),
        include_in_schema=False,  # only the JSON API is described; its controller opts in
        request_max_body_size=settings.max_upload_bytes + FORM_ROOM,
        compression_config=compression(),
        state=held.state(),
        before_send=[
            security_headers(
                production=settings.production, media_url_base=settings.media_url_base
            ),
            static_cache(AssetUrls(ROOT / "static")),
            log_response,
        ],
        on_startup=held.on_startup(),
        on_shutdown=held.on_shutdown(),
    )


class App(Litestar):
    """The app, with a front door: GET /events goes straight to its raw handler, outside every
    middleware and hook, which would wrap each frame for the stream's life (its module says what
    it does itself instead). Everything else is Litestar's."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] in events.STREAM_PATHS:
            enter_app(scope, self)
            await events.stream(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def _routes() -> list[ControllerRouterHandler]:
    return [
        auth.AuthController,
        pages.PagesController,
        profile.ProfileController,
        history.HistoryController,
        tokens.TokensController,
        api.ApiController,
        crop.CropController,
        edits.EditsPreviewController,
        media.avatar_file,
        components.avatar_fragment,
        *avatar_url.ROUTES,
        events.sync_avatars,
        subscriptions.change_subscriptions,
        admin.sync_page,
        health.healthz,
        health.readyz,
        create_static_files_router(path="/static", directories=[ROOT / "static"]),
    ]


def _dependencies() -> dict[str, Provide]:
    return {
        "db": Provide(deps.provide_db),
        "viewer": Provide(deps.provide_viewer, sync_to_thread=True),
        "media": Provide(deps.media_urls_of, sync_to_thread=False),
    }


def _middleware(sessions: Middleware, answer: ExceptionHandler[Exception]) -> list[Middleware]:
    return [
        RequestLogMiddleware,
        IdBoundsMiddleware,  # before the session is read: a number that names nothing is 404
        sessions,  # before the body limit: a member's 413 is shown on /profile
        # What the middleware below raises, answered inside the session: its flash is kept.
        DefineMiddleware(AnsweredInSession, answer=answer),
        BodyLimitMiddleware,
        FormUploadLimitMiddleware,
    ]


def _csrf(settings: Settings) -> CSRFConfig:
    return CSRFConfig(
        secret=settings.secret_key,
        cookie_secure=settings.production,
        cookie_samesite="lax",
        # The no-session paths render no form: no token to hand out (a cookie per answer).
        exclude=["^/api/", *parts.NO_SESSION_PATHS],
    )


def _errors() -> ExceptionHandlersMap:
    """Every error through one map (web/errors.py): problem+json under /api/, else a page;
    these are the routes' own pages, the rest are web/errors.py's."""
    return errors.exception_handlers(
        {
            401: auth.log_in_first,  # a member-only page: to the login form
            413: _too_large,  # a form too large, shown again with a fresh token
            Throttled: upload_refused,  # the upload limit, in the /profile form
            StoreUnavailable: store_refused,  # the bucket away during a /profile form
        }
    )


def _too_large(request: Request[Any, Any, Any], answer: Answer) -> Response[Any]:
    """A member's form is answered on /profile; a visitor's is the form it came from."""
    if deps.signed_in_id(request.scope) is not None:
        return upload_refused(request, answer)
    return auth.form_too_large(request, answer)
