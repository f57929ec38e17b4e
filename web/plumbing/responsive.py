"""The avatar's responsive images, written once: how wide each avatar size is drawn on each
viewport (`sizes`, as static/css/app.css draws it), which files it offers (`srcset` with width
descriptors), and how many directory cards load eagerly.

The browser picks the smallest file that covers the drawn width times its pixel density: a
phone (1.75x) drawing a card's 56 px avatar takes the 96 px file, not the 192 px one a 2x
descriptor made it take (uses-responsive-images).

A version with AVIF copies (at the sizes where they beat the WebP: web/services/imaging/avif.py)
gets an AVIF source with the same widths: each width's AVIF where it has one, else its WebP.
Every browser that takes an `image/avif` source decodes WebP too.
"""

from __future__ import annotations

from collections.abc import Callable

from web.services.imaging.types import ANIMATED_MAX_PX, SIZES, VARIANT_PX
from web.services.pictures.names import MediaUrls, PictureRef

# Each size's CSS width by viewport, narrowest first, the last one for every other viewport:
# the same breakpoints and widths as app.css (`.member-card .avatar-md`: the md size is a card's;
# `.avatar-lg` shrinks on phones). tests/e2e/test_progressive.py checks them against the page.
SLOTS: dict[str, tuple[tuple[str, int], ...]] = {
    "xs": (("", SIZES["xs"]),),
    "sm": (("", SIZES["sm"]),),
    "md": (("(max-width: 30rem)", 54), ("", SIZES["md"])),
    "lg": (("(max-width: 30rem)", 96), ("(max-width: 40rem)", 128), ("", SIZES["lg"])),
}
# The directory's first screen loads eagerly (the desktop grid has five columns; a phone's first
# screen shows seven cards, the seventh cut by the fold, at Lighthouse's 412x823): its largest
# avatar may be the page's LCP, and a lazy one in view waits for layout, then a round trip
# (the last to paint on a throttled phone, 600 ms after first paint: bench/avatar_paint.py).
EAGER_CARDS = 8


def sizes(size: str) -> str:
    return ", ".join(f"{query} {px}px".strip() for query, px in SLOTS[size])


def widths(size: str, *, animated: bool = False) -> tuple[int, ...]:
    """The files worth offering: from the narrowest drawn width to twice the widest."""
    drawn = [px for _, px in SLOTS[size]]
    top = min(2 * max(drawn), ANIMATED_MAX_PX) if animated else 2 * max(drawn)
    offered = tuple(px for px in VARIANT_PX if min(drawn) <= px <= top)
    return offered or (SIZES[size],)


def srcset_of(media_urls: MediaUrls) -> Callable[..., str]:
    def srcset(
        picture: PictureRef, size: str, ext: str | None = None, *, animated: bool = False
    ) -> str:
        return ", ".join(
            f"{media_urls(picture, px, ext, animated=animated)} {px}w"
            for px in widths(size, animated=animated)
        )

    return srcset


def avif_srcset_of(media_urls: MediaUrls) -> Callable[[PictureRef, str], str]:
    def avif_srcset(picture: PictureRef, size: str) -> str:
        """The AVIF source's srcset; empty when no width offered has an AVIF."""
        offered = widths(size)
        if not set(offered) & set(picture.avif):
            return ""
        return ", ".join(
            f"{media_urls(picture, px, 'avif' if px in picture.avif else 'webp')} {px}w"
            for px in offered
        )

    return avif_srcset
