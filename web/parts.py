"""What an app holds for its life, made once by the factory (web/app.py): the database engine,
the live hub and its broker link, the read cache, the stores, and who hears of each commit;
with what each does when the app starts and stops."""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
from litestar.channels import ChannelsPlugin
from litestar.datastructures import State
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.stores.base import Store
from litestar.template.config import TemplateConfig
from sqlalchemy import Engine

from db.engine import POOL_CAPACITY, make_engine
from web.caches.reads import ReadCache
from web.followups import Followups
from web.live.channel import channels_plugin, transport
from web.live.hub import LiveHub
from web.overrides.sessions import STATE_KEY as SESSION_CONFIG
from web.overrides.sessions import SessionConfig
from web.plumbing.fallback_store import MemoryPurger
from web.plumbing.logs import configure_logging
from web.plumbing.stores import app_stores
from web.plumbing.templating import templates
from web.routes.components import FragmentCache
from web.services.accounts.hashing import HashQueue
from web.services.accounts.passwords import HASHING_SLOTS
from web.services.commits import Commits
from web.services.imaging import cage
from web.services.pictures.names import MEDIA_URL, MediaUrls
from web.services.pictures.stores import media_store
from web.settings import Settings

SESSION_DAYS = 14
# Paths that never look at the session: a signed-in tab's fragment, file and asset requests, and
# the public avatar URLs, then cost no session read (a database read:
# web/plumbing/session_store.py), and carry no session cookie back.
NO_SESSION_PATHS = [
    "^/components/",
    "^/media/",
    "^/static/",
    "^/avatar/",
    "^/members/[^/]+/avatar$",
]


@dataclass(frozen=True, slots=True)
class Parts:
    settings: Settings
    engine: Engine
    media_urls: MediaUrls
    templates: TemplateConfig[JinjaTemplateEngine]
    sessions: SessionConfig
    channels: ChannelsPlugin
    live: LiveHub
    reads: ReadCache
    commits: Commits
    stores: dict[str, Store]
    purger: MemoryPurger
    followups: Followups

    def state(self) -> State:
        return State(
            {
                "settings": self.settings,
                "engine": self.engine,
                "db_release": anyio.CapacityLimiter(POOL_CAPACITY),
                "hashing": HashQueue(HASHING_SLOTS),
                "throttle_lock": anyio.Lock(),
                "live": self.live,
                "commits": self.commits,
                "fragments": self.followups.fragments,
                "followups": self.followups,
                "reads": self.reads,
                "media": self.followups.store,
                "media_urls": self.media_urls,
                SESSION_CONFIG: self.sessions,  # the stream reads it outside the middleware
            }
        )

    def on_startup(self) -> list[Callable[[], Any]]:
        ceilings = self.settings.image_limits().ceilings
        warm_cage: Callable[[], None] = lambda: cage.warm(ceilings)  # noqa: E731
        return [configure_logging, self.live.start, self.purger.start, warm_cage, _freeze_gc]

    def on_shutdown(self) -> list[Callable[[], Any]]:
        return [self.followups.stop, self.live.stop, self.purger.stop, self.engine.dispose]


def build(settings: Settings) -> Parts:
    engine = make_engine(settings.database_url)
    media_urls = MediaUrls(settings.media_url_base or MEDIA_URL)
    backend = transport(settings)
    channels = channels_plugin(backend)
    live = LiveHub(engine, channels, backend)
    reads = ReadCache(engine)
    stores = app_stores(settings, engine)
    followups = Followups(
        engine, media_store(settings), reads, FragmentCache(), settings.image_limits().ceilings
    )
    return Parts(
        settings=settings,
        engine=engine,
        media_urls=media_urls,
        templates=templates(media_urls, settings.events_members_per_stream),
        sessions=_sessions(settings),
        channels=channels,
        live=live,
        reads=reads,
        commits=_listeners(live, reads, followups if settings.avif_copies else None),
        stores=stores,
        purger=MemoryPurger(stores["rate_limit"]),
        followups=followups,
    )


def _sessions(settings: Settings) -> SessionConfig:
    return SessionConfig(
        max_age=SESSION_DAYS * 86400,
        secure=settings.production,
        samesite="lax",
        httponly=True,
        exclude=NO_SESSION_PATHS,
    )


def _listeners(live: LiveHub, reads: ReadCache, followups: Followups | None) -> Commits:
    """Who hears of a change: the read cache and the hub, of this process's commits (told by
    the session that made them) and, through the hub, of other processes'."""
    live.watch(reads.on_frame)
    commits = Commits()
    commits.on_change(reads.changed)  # first: dropped before the hub can deliver its frame
    commits.on_change(live.publish)
    commits.on_member_added(reads.forget_missing)
    if followups is not None:  # AVIF_COPIES
        commits.on_followup(followups.submit)  # a new version's AVIF copies, after the answer
    return commits


def _freeze_gc() -> None:
    # Start-up objects live as long as the process: moved out of the collector's sight, they
    # no longer make each full collection walk them (0.2-1.2 s pauses with 5,000 streams).
    gc.collect()
    gc.freeze()
