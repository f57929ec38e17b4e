"""The application factory: `create_app(settings)` builds everything; importing does nothing."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import anyio
from litestar import Litestar, Request
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.plugins.flash import FlashConfig, FlashPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Response
from litestar.static_files import create_static_files_router
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from litestar.template.config import TemplateConfig
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from sqlalchemy import Engine

from db.engine import POOL_CAPACITY, make_engine
from web import errors
from web.api.common import openapi_config
from web.errors import Answer
from web.live import events
from web.live.channel import channels_plugin, transport
from web.live.hub import LiveHub
from web.overrides.litestar_entry import enter_app
from web.overrides.sessions import STATE_KEY as SESSION_CONFIG
from web.overrides.sessions import SessionConfig
from web.overrides.upload_memory import keep_uploads_in_memory
from web.plumbing import deps
from web.plumbing.assets import AssetUrls
from web.plumbing.body_limit import BodyLimitMiddleware
from web.plumbing.deps import signed_in_id
from web.plumbing.fallback_store import FallbackStore, MemoryPurger
from web.plumbing.guards import FormUploadLimitMiddleware
from web.plumbing.headers import security_headers
from web.plumbing.ids import IdBoundsMiddleware
from web.plumbing.logs import RequestLogMiddleware, configure_logging, log_response
from web.plumbing.session_store import DatabaseStore
from web.plumbing.throttle import Throttled
from web.read_cache import ReadCache
from web.routes import (
    admin,
    api,
    auth,
    avatar_url,
    components,
    crop,
    health,
    media,
    pages,
    profile,
    tokens,
)
from web.routes.profile_page import store_refused, upload_refused
from web.services.accounts import passwords
from web.services.accounts.hashing import HashQueue
from web.services.accounts.passwords import HASHING_SLOTS
from web.services.commits import Commits
from web.services.imaging import cage
from web.services.imaging.types import ANIMATED_MAX_PX, SIZES
from web.services.pictures.names import MEDIA_URL, MediaUrls
from web.services.pictures.storage import StoreUnavailable
from web.services.pictures.stores import media_store
from web.settings import HTMX_VERSION, Settings

ROOT = Path(__file__).resolve().parent.parent
SESSION_DAYS = 14
# Paths that never look at the session: a signed-in tab's fragment, file and asset requests then
# cost no session read (a database read: web/plumbing/session_store.py), and carry no session
# cookie back.
NO_SESSION_PATHS = ["^/components/", "^/media/", "^/static/"]
REDIS_TIMEOUT = 0.3  # seconds to connect or to answer; Redis answers in well under 1 ms


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    engine = make_engine(settings.database_url)
    media_urls = MediaUrls(settings.media_url_base or MEDIA_URL)
    templates = _templates(AssetUrls(ROOT / "static"), media_urls)
    sessions = SessionConfig(
        max_age=SESSION_DAYS * 86400,
        secure=settings.production,
        samesite="lax",
        httponly=True,
        exclude=NO_SESSION_PATHS,
    )
    backend = transport(settings)
    channels = channels_plugin(backend)
    live = LiveHub(engine, channels, backend)
    reads = ReadCache(engine)
    live.watch(reads.on_frame)  # other processes' changes; this one's: reads.changed
    commits = Commits()  # this process's, told after each commit by the session that made them
    commits.on_change(reads.changed)  # first: dropped before the hub can deliver its frame
    commits.on_change(live.publish)
    commits.on_member_added(reads.forget_missing)
    stores = _stores(settings, engine)
    purger = MemoryPurger(stores["rate_limit"])
    keep_uploads_in_memory(settings.max_upload_bytes)
    passwords.use(settings.password_hasher)
    return App(
        route_handlers=[
            auth.AuthController,
            pages.PagesController,
            profile.ProfileController,
            tokens.TokensController,
            api.ApiController,
            crop.CropController,
            media.avatar_file,
            *avatar_url.ROUTES,
            components.avatar_fragment,
            events.sync_avatars,
            admin.sync_page,
            health.healthz,
            health.readyz,
            create_static_files_router(path="/static", directories=[ROOT / "static"]),
        ],
        dependencies={
            "db": Provide(deps.provide_db),
            "viewer": Provide(deps.provide_viewer, sync_to_thread=True),
            "media": Provide(deps.media_urls_of, sync_to_thread=False),
        },
        middleware=[
            RequestLogMiddleware,
            IdBoundsMiddleware,  # before the session is read: a number that names nothing is 404
            sessions.middleware,  # before the body limit: a member's 413 is shown on /profile
            BodyLimitMiddleware,
            FormUploadLimitMiddleware,
        ],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_secure=settings.production,
            cookie_samesite="lax",
            # The no-session paths render no form: no token to hand out (a cookie per answer).
            exclude=["^/api/", *NO_SESSION_PATHS],
        ),
        template_config=templates,
        plugins=[FlashPlugin(FlashConfig(template_config=templates)), channels],
        stores=stores,
        # Every error through one map (web/errors.py): problem+json under /api/, else a page;
        # these are the routes' own pages, the rest are web/errors.py's.
        exception_handlers=errors.exception_handlers(
            {
                401: auth.log_in_first,  # a member-only page: to the login form
                413: _too_large,  # a form too large, shown again with a fresh token
                Throttled: upload_refused,  # the upload limit, in the /profile form
                StoreUnavailable: store_refused,  # the bucket away during a /profile form
            }
        ),
        openapi_config=openapi_config(),
        include_in_schema=False,  # only the JSON API is described; its controller opts in
        request_max_body_size=settings.max_upload_bytes + 64 * 1024,
        state=State(
            {
                "settings": settings,
                "engine": engine,
                "db_release": anyio.CapacityLimiter(POOL_CAPACITY),
                "hashing": HashQueue(HASHING_SLOTS),
                "throttle_lock": anyio.Lock(),
                "live": live,
                "commits": commits,
                "fragments": components.FragmentCache(),
                "reads": reads,
                "media": media_store(settings),
                "media_urls": media_urls,
                SESSION_CONFIG: sessions,  # the stream reads it outside the middleware
            }
        ),
        before_send=[
            security_headers(
                production=settings.production, media_url_base=settings.media_url_base
            ),
            log_response,
        ],
        on_startup=[
            configure_logging,
            live.start,
            purger.start,
            lambda: cage.warm(settings.image_limits().ceilings),
            _freeze_gc,
        ],
        on_shutdown=[live.stop, purger.stop, engine.dispose],
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


def _freeze_gc() -> None:
    # Start-up objects live as long as the process: moved out of the collector's sight, they
    # no longer make each full collection walk them (0.2-1.2 s pauses with 5,000 streams).
    gc.collect()
    gc.freeze()


def _templates(assets: AssetUrls, media_urls: MediaUrls) -> TemplateConfig[JinjaTemplateEngine]:
    def configure(engine: JinjaTemplateEngine) -> None:
        engine.engine.globals.update(
            media_url=media_urls,
            static=assets.url,
            AVATAR_PX=SIZES,
            ANIMATED_MAX_PX=ANIMATED_MAX_PX,
            HTMX_VERSION=HTMX_VERSION,
        )
        engine.engine.filters["filesize"] = filesize
        engine.engine.trim_blocks = True
        engine.engine.lstrip_blocks = True

    return TemplateConfig(
        directory=[ROOT / "web" / "templates", ROOT / "components"],
        engine=JinjaTemplateEngine,
        engine_callback=configure,
    )


def _stores(settings: Settings, engine: Engine) -> dict[str, Store]:
    """Sessions in the database, whatever REDIS_URL says: an outage or a restart signs no one
    out. Rate-limit counters in Redis when it is shared, in memory while it does not answer."""
    sessions = DatabaseStore(engine).with_namespace("sessions")
    if not settings.redis_url:
        return {"sessions": sessions, "rate_limit": MemoryStore()}
    redis = RedisStore(
        redis=store_redis(settings.redis_url),
        namespace=settings.redis_prefix,
        handle_client_shutdown=True,
    )
    rate_limit = FallbackStore(
        primary=redis.with_namespace("rate"),
        fallback=MemoryStore(),
        errors=(RedisError, OSError),
        name="Redis (upload rate limits)",
    )
    return {"sessions": sessions, "rate_limit": rate_limit}


def store_redis(url: str) -> Redis:
    """The rate-limit store's client (the live transport has its own, which waits on pub/sub):
    it gives up fast: a dead or unreachable Redis costs at most two tries of
    REDIS_TIMEOUT, then the fallback answers; not redis-py's 5 s timeouts times 3 retries with
    backoff. The one retry, at once, reconnects a pooled connection the server dropped."""
    return Redis.from_url(
        url,
        socket_connect_timeout=REDIS_TIMEOUT,
        socket_timeout=REDIS_TIMEOUT,
        retry=Retry(NoBackoff(), retries=1),
    )


def _too_large(request: Request[Any, Any, Any], answer: Answer) -> Response[Any]:
    """A member's form is answered on /profile; a visitor's is the form it came from."""
    if signed_in_id(request.scope) is not None:
        return upload_refused(request, answer)
    return auth.form_too_large(request, answer)


def filesize(size: int) -> str:
    for unit in ("bytes", "KB", "MB"):
        if size < 1000 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000  # type: ignore[assignment]
    raise AssertionError("unreachable")
