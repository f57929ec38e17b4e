"""The two moves the caches share on their OrderedDicts, least recently used first: keep a value
within a bound, and look a key up among the values found and the keys read missing (each mark
good for a few seconds). The callers hold their own lock around both."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def keep_recent(items: OrderedDict[K, V], key: K, value: V, most: int) -> None:
    """Put as the most recently used, dropping the least recently used past `most`."""
    items[key] = value
    items.move_to_end(key)
    if len(items) > most:
        items.popitem(last=False)


def found_or_missing(
    found: OrderedDict[K, V],
    missing: OrderedDict[K, float],
    key: K,
    *,
    absent: V,
    now: Callable[[], float],
    seconds: float,
) -> V | None:
    """`key`'s value in `found` (now the most recently used); `absent` when it was read missing
    less than `seconds` ago; None when neither is known (an older mark is dropped)."""
    value = found.get(key)
    if value is not None:
        found.move_to_end(key)
        return value
    since = missing.get(key)
    if since is None:
        return None
    if now() - since < seconds:
        return absent
    del missing[key]
    return None
