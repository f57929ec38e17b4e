"""The app's Litestar stores: sessions in the database, whatever REDIS_URL says (an outage or a
restart signs no one out); rate-limit counters in Redis when it is shared, in memory while it
does not answer (web/plumbing/fallback_store.py)."""

from __future__ import annotations

from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from sqlalchemy import Engine

from web.plumbing.fallback_store import FallbackStore
from web.plumbing.session_store import DatabaseStore
from web.settings import Settings

REDIS_TIMEOUT = 0.3  # seconds to connect or to answer; Redis answers in well under 1 ms


def app_stores(settings: Settings, engine: Engine) -> dict[str, Store]:
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
