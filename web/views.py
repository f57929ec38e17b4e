"""Plain data handed to templates: no sessions, no ORM objects, nothing lazy."""

from __future__ import annotations

from dataclasses import dataclass

from web.services.imaging.types import ANIMATED_MAX_PX, SIZES
from web.services.media_names import PictureRef

__all__ = ["ANIMATED_MAX_PX", "SIZES", "Avatar", "Member", "PictureRef", "Viewer"]


@dataclass(frozen=True, slots=True)
class Avatar:
    user_id: int
    display_name: str
    version: int
    picture: PictureRef | None

    @property
    def initials(self) -> str:
        words = self.display_name.split()
        return "".join(word[0] for word in words[:2]).upper() or "?"

    @property
    def colour(self) -> str:
        # Golden-angle hue steps keep neighbouring ids far apart on the colour wheel.
        return f"hsl({self.user_id * 137.508 % 360:.0f} 55% 38%)"


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    handle: str
    display_name: str
    created_at: str
    avatar: Avatar


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in member, as pages and guards see them."""

    id: int
    handle: str
    display_name: str
    is_admin: bool
    avatar: Avatar
