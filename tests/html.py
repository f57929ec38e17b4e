"""Parse responses as HTML so tests assert on elements, not substrings."""

from __future__ import annotations

from bs4 import BeautifulSoup, Tag


def parse(text: str) -> BeautifulSoup:
    return BeautifulSoup(text, "html.parser")


def one(text: str, selector: str) -> Tag:
    found = parse(text).select(selector)
    assert len(found) == 1, f"expected one {selector!r}, found {len(found)}"
    return found[0]


def avatars(text: str) -> list[Tag]:
    return parse(text).select("[data-user-id][data-avatar-size]")
