"""The application factory: `create_app(settings)` builds everything; importing does nothing."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import ResponseHeader, State
from litestar.di import Provide
from litestar.plugins.flash import FlashConfig, FlashPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.stores.base import Store
from litestar.stores.file import FileStore
from litestar.stores.redis import RedisStore
from litestar.template.config import TemplateConfig

from db.engine import make_engine
from web import deps
from web.assets import AssetUrls
from web.live import channels_plugin
from web.logs import RequestLogMiddleware, configure_logging
from web.routes import auth, components, health, pages
from web.sessions import SessionConfig
from web.settings import HTMX_VERSION, Settings
from web.views import SIZES

ROOT = Path(__file__).resolve().parent.parent
SESSION_DAYS = 14

# Pages run no inline script or style; htmx and our own JS come from /static only.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    ResponseHeader(name="Content-Security-Policy", value=PAGE_CSP),
    ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
    ResponseHeader(name="Referrer-Policy", value="same-origin"),
    ResponseHeader(name="X-Frame-Options", value="DENY"),
]


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    engine = make_engine(settings.database_url)
    templates = _templates(AssetUrls(ROOT / "static"))
    sessions = SessionConfig(
        max_age=SESSION_DAYS * 86400, secure=settings.production, samesite="lax", httponly=True
    )
    return Litestar(
        route_handlers=[
            auth.AuthController,
            pages.PagesController,
            components.avatar_fragment,
            health.healthz,
            health.readyz,
            create_static_files_router(path="/static", directories=[ROOT / "static"]),
        ],
        dependencies={
            "db": Provide(deps.provide_db),
            "viewer": Provide(deps.provide_viewer, sync_to_thread=True),
        },
        middleware=[RequestLogMiddleware, sessions.middleware],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_secure=settings.production,
            cookie_samesite="lax",
            exclude=["/api/"],
        ),
        template_config=templates,
        plugins=[FlashPlugin(FlashConfig(template_config=templates)), channels_plugin(settings)],
        stores={"sessions": _session_store(settings)},
        response_headers=SECURITY_HEADERS,
        request_max_body_size=settings.max_upload_bytes + 64 * 1024,
        state=State({"settings": settings, "engine": engine}),
        on_startup=[configure_logging],
        on_shutdown=[engine.dispose],
    )


def _templates(assets: AssetUrls) -> TemplateConfig[JinjaTemplateEngine]:
    def configure(engine: JinjaTemplateEngine) -> None:
        engine.engine.globals.update(static=assets.url, AVATAR_PX=SIZES, HTMX_VERSION=HTMX_VERSION)
        engine.engine.trim_blocks = True
        engine.engine.lstrip_blocks = True

    return TemplateConfig(
        directory=[ROOT / "web" / "templates", ROOT / "components"],
        engine=JinjaTemplateEngine,
        engine_callback=configure,
    )


def _session_store(settings: Settings) -> Store:
    if settings.redis_url:
        namespace = f"{settings.redis_prefix}:sessions"
        return RedisStore.with_client(url=settings.redis_url, namespace=namespace)
    return FileStore(settings.var_dir / "sessions", create_directories=True)
