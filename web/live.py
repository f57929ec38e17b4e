"""Live events: one channel for every avatar change, memory or Redis backed.

A change is encoded once, as the exact SSE frame bytes, and those same bytes go to every stream.
"""

from __future__ import annotations

import msgspec
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.asyncio import Redis

from web.services.sync import Change
from web.settings import Settings

CHANNEL = "avatars"


class EventData(msgspec.Struct, rename="camel"):
    user_id: int
    version: int
    kind: str


def sse_frame(change: Change) -> bytes:
    data = msgspec.json.encode(EventData(change.user_id, change.version, change.kind))
    return b"id: %d\nevent: avatar-%d\ndata: %s\n\n" % (change.event_id, change.user_id, data)


def channels_plugin(settings: Settings) -> ChannelsPlugin:
    backend: ChannelsBackend
    if settings.redis_url:
        backend = RedisChannelsPubSubBackend(
            redis=Redis.from_url(settings.redis_url), key_prefix=f"{settings.redis_prefix}:channels"
        )
    else:
        backend = MemoryChannelsBackend()
    return ChannelsPlugin(backend=backend, channels=[CHANNEL], subscriber_max_backlog=64)


def publish_change(channels: ChannelsPlugin, change: Change) -> None:
    """Call after the change's transaction has committed, never before."""
    channels.publish(sse_frame(change), CHANNEL)
