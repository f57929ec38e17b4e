"""What the hot reads need of a member, kept in memory: the avatar fragment's `Avatar` and which
picture file names are live (a kept version uses them) or gone (only deleted or purged ones
did). The database stays the truth: an entry is a copy read from it on a miss and dropped on
every change to that member this process hears of.

How a change reaches the cache, and so how stale an entry can be:
- made in this process: dropped when its transaction commits (`changed`, a subscriber of the
  sessions' commits: web/services/commits.py, wired in create_app), before the request that
  made it answers. A member's own upload, delete or restore never shows stale to them. Its
  event, when the hub delivers it back, drops nothing more: one change, one drop.
- made in another process: dropped when the live hub delivers its event (`LiveHub.watch`): at
  once through Redis, else within the feed's CATCH_UP_SECONDS (5 s) of the commit, the bound
  on staleness whenever the database answers. The feed's catch-up after an outage delivers each
  missed event, so drops what each names; a `resync` (the feed fell too far behind) drops all.
- a name or a version the entry does not know (a new upload whose event is still on its way) is
  read again from the database rather than answered 404 or as the older version.
- a member id that does not exist is remembered as missing for MISSING_SECONDS, so a client
  asking for it again and again costs one database read in that time, not one per request.
  Adding a member writes no event: a commit in this process that adds one forgets every
  missing id at once; one added by another process is found at most MISSING_SECONDS late
  (only when this process was asked for its id, not yet used, in the seconds before).

Each part is bounded: members (least recently used out first), missing ids (likewise: a
client making up ids pushes out only other made-up ids' marks, never a member's entry) and
the small files' bytes (by their total size). Handlers read it from the event loop and fill
it from worker threads: locked, and a fill that read before a drop never lands after it
(members and missing ids: web/caches/recent.py).
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from anyio import to_thread
from litestar.datastructures import State
from sqlalchemy import Engine
from sqlmodel import Session, select

from db.models import ProfilePicture
from web.caches.handles import HandleIds
from web.caches.recent import FoundOrMissing, keep_recent
from web.live.channel import RESYNC
from web.services.accounts import members
from web.services.commits import Change
from web.services.pictures.avatars import Avatar
from web.services.sync import TOKENS

MEMBERS = 10_000  # entries; one is a few hundred bytes
MISSING = 10_000  # ids known not to be members; one is about 100 bytes
MISSING_SECONDS = 5.0  # as long as the feed's catch-up (web/live/feed.py CATCH_UP_SECONDS)
FILE_BYTES = 64 * 1024 * 1024  # small picture files kept in memory, in total
OWN_EVENTS = 1_000  # ids of this process's changes whose event the hub has yet to deliver
_FRAME = re.compile(rb"id: (\d+)\nevent: avatar-(\d+)\n")
K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class MemberReads:
    """None for `avatar`: no such member."""

    avatar: Avatar | None
    live: frozenset[str]
    gone: frozenset[str]

    def media_status(self, name: str) -> str | None:
        """As web.services.pictures.reads.media_status: "live", "gone" or None (unknown)."""
        if name in self.live:
            return "live"
        return "gone" if name in self.gone else None


NO_MEMBER = MemberReads(None, frozenset(), frozenset())


class ReadCache:
    def __init__(
        self,
        engine: Engine,
        *,
        capacity: int = MEMBERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self._members: FoundOrMissing[int, MemberReads] = FoundOrMissing(
            found=capacity, missing=MISSING, absent=NO_MEMBER, seconds=MISSING_SECONDS, clock=clock
        )
        self._lock = threading.Lock()  # for _own
        self._own: OrderedDict[int, None] = OrderedDict()  # event ids dropped at their commit
        self.files = FileCache()
        self.handles = HandleIds(engine)  # the stable avatar URL's handles (web/caches/handles.py)

    def get(self, user_id: int) -> MemberReads | None:
        return self._members.get(user_id)

    def load(self, user_id: int) -> MemberReads:
        """Read the member from the database (in a worker thread: it blocks) and keep it."""
        generation = self._members.generation()
        reads = read_member(self.engine, user_id)
        # Kept unless a drop came while we read.
        if reads.avatar is None:
            self._members.keep_missing(user_id, generation)
        else:
            self._members.keep(user_id, reads, generation)
        return reads

    def forget_missing(self) -> None:
        """A member was added: any id read as missing may be theirs."""
        self._members.forget_missing()
        self.handles.forget_missing()

    def forget(self, user_ids: set[int]) -> None:
        self._members.forget(user_ids)

    def clear(self) -> None:
        self._members.clear()

    def changed(self, change: Change) -> None:
        """A change this process committed (web/services/commits.py), told in the committing
        thread before its request answers. A token list's change leaves the picture as it was
        (its frame is not an avatar's either: `on_frame` passes it by)."""
        if change.kind == TOKENS:
            return
        with self._lock:
            keep_recent(self._own, change.event_id, None, OWN_EVENTS)
        self.forget({change.user_id})

    def on_frame(self, frame: bytes) -> None:
        """The hub's every delivered event (web/live/hub.py, `LiveHub.watch`)."""
        if frame == RESYNC:
            self.clear()
        elif (match := _FRAME.match(frame)) and not self._dropped_at_commit(int(match[1])):
            self.forget({int(match[2])})

    def _dropped_at_commit(self, event_id: int) -> bool:
        # Whatever was read since that drop was read after the commit: nothing to drop again.
        with self._lock:
            if event_id not in self._own:
                return False
            del self._own[event_id]
            return True


def read_cache(state: State) -> ReadCache:
    """The app's cache, made in create_app."""
    cache: ReadCache = state["reads"]
    return cache


async def member_reads(state: State, user_id: int, *, newer_than: int = -1) -> MemberReads:
    """The member's cached entry, read from the database (in a worker thread) when missing or
    older than a version the client already knows of (its event has not reached us yet)."""
    cache = read_cache(state)
    reads = cache.get(user_id)
    if reads is None or (reads.avatar is not None and reads.avatar.version < newer_than):
        reads = await to_thread.run_sync(cache.load, user_id)
    return reads


class BytesLru(Generic[K]):
    """Bytes by key, least recently used out first, within a budget of `weigh`ed units (entries
    or bytes). A key's bytes never change (a version's fragment, a file named by its content's
    hash), so nothing is dropped for staleness. Handlers read and fill it from the event loop
    and worker threads: locked."""

    def __init__(self, budget: int, weigh: Callable[[bytes], int]) -> None:
        self.budget = budget
        self._weigh = weigh
        self._used = 0
        self._items: OrderedDict[K, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> bytes | None:
        with self._lock:
            body = self._items.get(key)
            if body is not None:
                self._items.move_to_end(key)
            return body

    def drop_where(self, doomed: Callable[[K], bool]) -> None:
        with self._lock:
            for key in [key for key in self._items if doomed(key)]:
                self._used -= self._weigh(self._items.pop(key))

    def put(self, key: K, body: bytes) -> None:
        weight = self._weigh(body)
        with self._lock:
            if key in self._items or weight > self.budget:
                return
            self._items[key] = body
            self._used += weight
            while self._used > self.budget:
                _, dropped = self._items.popitem(last=False)
                self._used -= self._weigh(dropped)


class FileCache(BytesLru[str]):
    """Small picture files' bytes by storage key; whether a file may still be served is the
    member entry's to say, on every request."""

    def __init__(self, budget: int = FILE_BYTES) -> None:
        super().__init__(budget, weigh=len)


def read_member(engine: Engine, user_id: int) -> MemberReads:
    with Session(engine) as session:
        avatar = members.avatar_of(session, user_id)
        rows = session.exec(
            select(
                ProfilePicture.filename, ProfilePicture.deleted_at, ProfilePicture.purged_at
            ).where(ProfilePicture.user_id == user_id)
        ).all()
    live = frozenset(name for name, deleted, purged in rows if deleted is None and purged is None)
    gone = frozenset(name for name, _, _ in rows) - live
    return MemberReads(avatar, live, gone)
