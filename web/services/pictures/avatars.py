"""What every avatar on a page draws: the member's picture, or their initials on a colour of
their own (the same colour on every page and every visit, readable in black or white)."""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

from web.services.pictures.names import PictureRef


@dataclass(frozen=True, slots=True)
class Avatar:
    """What every avatar on a page draws: the picture, or initials on a colour."""

    user_id: int
    display_name: str
    version: int
    picture: PictureRef | None

    @property
    def initials(self) -> str:
        return initials(self.display_name)

    @property
    def colour(self) -> str:
        return colour(self.user_id)

    @property
    def ink(self) -> str:
        return ink(self.user_id)


def initials(display_name: str) -> str:
    words = display_name.split()
    return "".join(word[0] for word in words[:2]).upper() or "?"


HUE_STEP, SATURATION, LIGHTNESS = 137.508, 0.55, 0.38


def colour(user_id: int) -> str:
    """The initials' background: golden-angle hue steps keep neighbouring ids far apart."""
    return f"hsl({user_id * HUE_STEP % 360:.0f} {SATURATION:.0%} {LIGHTNESS:.0%})"


def ink(user_id: int) -> str:
    """The initials' colour on `colour(user_id)`: white or black, whichever contrasts more;
    one of them always reaches WCAG's 4.5:1 (at worst ~4.58:1)."""
    hue = round(user_id * HUE_STEP % 360) / 360
    rgb = colorsys.hls_to_rgb(hue, LIGHTNESS, SATURATION)
    lum = luminance("#" + "".join(f"{round(c * 255):02x}" for c in rgb))
    return "#ffffff" if 1.05 / (lum + 0.05) >= (lum + 0.05) / 0.05 else "#000000"


def luminance(hex_colour: str) -> float:
    """WCAG 2's relative luminance of a #rrggbb colour."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
