"""What a stream follows: a set of members, named by the browser (the union of what its tabs
show: static/js/live-sync.js), with the viewer always in it, at most EVENTS_MEMBERS_PER_STREAM
of them besides the viewer.

A set arrives two ways, each checked here before it reaches the hub: in the stream's own URL
when it opens (`GET /events?members=42,43`, web/live/events.py), and as a numbered change of an
open stream (`POST /events/subscriptions`, web/live/subscriptions.py), which may have to travel
to the process that holds the stream (web/live/link.py): the change is the same bytes there.
"""

from __future__ import annotations

import re
from collections.abc import Sized
from typing import Annotated
from urllib.parse import parse_qsl

import msgspec

from db.models import MAX_ID

PARAM = "members"
MAX_SEQ = 2**53  # what a browser's number can count to exactly
_ID = re.compile(r"[0-9]{1,10}")
_SEQ = re.compile(r"[0-9]{1,16}")

StreamId = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{32}$")]
MemberId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
Seq = Annotated[int, msgspec.Meta(ge=1, le=MAX_SEQ)]


class Subscription(msgspec.Struct, forbid_unknown_fields=True):
    """A stream's new member set, number `seq` of its tab's: a later number wins, whatever order
    two of them arrive in."""

    stream: StreamId
    seq: Seq
    members: list[MemberId]


class TooManyMembers(ValueError):
    def __init__(self, ceiling: int) -> None:
        super().__init__(f"members: at most {ceiling} per stream (EVENTS_MEMBERS_PER_STREAM)")


def check_ceiling(members: Sized, ceiling: int) -> None:
    """Items are counted as given, a member named twice twice."""
    if len(members) > ceiling:
        raise TooManyMembers(ceiling)


def members_of_query(query_string: bytes, ceiling: int) -> tuple[frozenset[int], int]:
    """The set in a stream's URL (`members=42,43`; none: the viewer alone) and its number
    (`seq=7`; none: 0). ValueError, saying what is wrong, for anything else: a parameter given
    twice, an item that is not a member id, more than `ceiling` items, a number out of range."""
    query = _once(query_string)
    items = [item for item in query.get(PARAM, "").split(",") if item]
    check_ceiling(items, ceiling)
    for item in items:
        if not _ID.fullmatch(item) or not 1 <= int(item) <= MAX_ID:
            raise ValueError(f"{PARAM}: {item[:20]!r} is not a member id")
    seq = query.get("seq", "0")
    if not _SEQ.fullmatch(seq) or int(seq) > MAX_SEQ:
        raise ValueError(f"seq: {seq[:20]!r} is not a whole number up to {MAX_SEQ}")
    return frozenset(int(item) for item in items), int(seq)


def _once(query_string: bytes) -> dict[str, str]:
    """The query's `members` and `seq`, each given at most once (the others are not ours)."""
    found: dict[str, str] = {}
    for name, value in parse_qsl(query_string.decode("latin-1")):
        if name in (PARAM, "seq"):
            if name in found:
                raise ValueError(f"{name}: give it once")
            found[name] = value
    return found
