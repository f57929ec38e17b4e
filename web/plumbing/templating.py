"""The Jinja setup every page and partial renders with: the templates' two folders (web/'s pages,
components/' partials), the globals they share (asset and media URLs, the avatar sizes, the htmx
version, the members a live stream may follow) and the filters they need."""

from __future__ import annotations

from pathlib import Path

from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from web.plumbing import responsive
from web.plumbing.assets import AssetUrls
from web.services.imaging.edits import describe
from web.services.imaging.types import ANIMATED_MAX_PX, SIZES
from web.services.pictures.names import MediaUrls
from web.settings import HTMX_VERSION

ROOT = Path(__file__).resolve().parents[2]


def templates(media_urls: MediaUrls, live_members: int) -> TemplateConfig[JinjaTemplateEngine]:
    """`live_members`: EVENTS_MEMBERS_PER_STREAM, which the pages' live-sync script keeps to."""
    assets = AssetUrls(ROOT / "static")

    def configure(engine: JinjaTemplateEngine) -> None:
        engine.engine.globals.update(
            media_url=media_urls,
            srcset=responsive.srcset_of(media_urls),
            avif_srcset=responsive.avif_srcset_of(media_urls),
            avatar_sizes=responsive.sizes,
            EAGER_CARDS=responsive.EAGER_CARDS,
            static=assets.url,
            AVATAR_PX=SIZES,
            ANIMATED_MAX_PX=ANIMATED_MAX_PX,
            HTMX_VERSION=HTMX_VERSION,
            LIVE_MEMBERS_MAX=live_members,
        )
        engine.engine.filters["filesize"] = filesize
        engine.engine.filters["edit_name"] = describe  # "background:blur": "background blurred"
        engine.engine.trim_blocks = True
        engine.engine.lstrip_blocks = True

    return TemplateConfig(
        directory=[ROOT / "web" / "templates", ROOT / "components"],
        engine=JinjaTemplateEngine,
        engine_callback=configure,
    )


def filesize(size: int) -> str:
    for unit in ("bytes", "KB", "MB"):
        if size < 1000 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000  # type: ignore[assignment]
    raise AssertionError("unreachable")
