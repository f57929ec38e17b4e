"""The data the image pipeline takes and returns, and its refusals: plain values, no Pillow."""

from __future__ import annotations

import math
from dataclasses import dataclass

ACCEPTED = "JPEG, PNG, GIF, WebP, HEIC/HEIF or AVIF"

SIZES: dict[str, int] = {"xs": 24, "sm": 40, "md": 96, "lg": 192}
VARIANT_PX: tuple[int, ...] = tuple(sorted({css * dpr for css in SIZES.values() for dpr in (1, 2)}))
# The largest variant's side: a square cut smaller than this is enlarged to make it, and looks
# blurred. The upload form recommends it; a smaller square is kept with a warning.
RECOMMENDED_MIN_PX = max(VARIANT_PX)
SMALL_PICTURE = (
    "The square cut from this picture is only {side}×{side} pixels: it will look blurred at the "
    "larger sizes. {min}×{min} pixels or more is recommended."
)
# The named squares of the re-crop page, each the whole short side against one edge.
POSITIONS = ("centre", "left", "right", "top", "bottom")
# The type of each file extension the store writes.
EXT_MIME: dict[str, str] = {
    "webp": "image/webp",
    "jpg": "image/jpeg",
    "png": "image/png",
    "avif": "image/avif",
}
# Animated variants stop here: past it, a frame costs more than anyone sees in an avatar.
ANIMATED_MAX_PX = 192

# (status, message) per refusal code; the message is shown to the member as it is.
REFUSALS: dict[str, tuple[int, str]] = {
    "too_large": (413, "The file is larger than {max_mib} MiB: please choose a smaller picture."),
    "empty": (415, f"The file is empty: please choose a {ACCEPTED} picture."),
    "unsupported_format": (
        415,
        f"This file is not a picture we can use: please upload a {ACCEPTED} file.",
    ),
    "unsupported_encoding": (
        415,
        f"This JPEG uses an encoding we cannot read (such as 12-bit colour): "
        f"please save it as a standard {ACCEPTED} file.",
    ),
    "too_many_pixels": (
        422,
        "The picture is too large: at most {max_side} pixels a side and {max_mp} megapixels.",
    ),
    "corrupt": (422, "The picture could not be read: the file is truncated or damaged."),
    "too_many_frames": (
        422,
        "The animation has more than {max_frames} frames: please shorten it.",
    ),
    "animation_too_large": (
        422,
        "The animation is too big to process: please use fewer frames or a smaller size.",
    ),
    "too_much_memory": (
        422,
        "The picture uses too much memory to decode: please upload a smaller or simpler file.",
    ),
    "too_slow": (
        422,
        "The picture took too long to decode: please upload a smaller or simpler file.",
    ),
    "too_complex": (
        422,
        "The picture is built in a way we refuse to decode (too many layers, parts or scans): "
        "please save it again from a photo app or editor.",
    ),
    "bad_crop": (422, "The crop must be a square that lies inside the picture."),
    "bad_enhance": (422, "Enhance must be on or off (send on, true, or nothing)."),
    "bad_background": (422, "The background must be keep, blur or color."),
    "bad_background_color": (
        422,
        "The background colour must be a colour like #1a2b3c (# and six hexadecimal digits).",
    ),
    "no_edits_animated": (
        422,
        "Enhance and background work on still pictures only: upload this animation without them.",
    ),
    "bad_choice": (
        422,
        "Choose one of the crops offered: face, centre, left, right, top, bottom or exact.",
    ),
    "no_rotate": (422, "Animated pictures can't be rotated; upload a turned copy instead."),
    "infected": (422, "This file was flagged by the virus scanner and was not stored."),
    "scan_unavailable": (503, "The virus scanner is unavailable; please try again in a minute."),
}


class ImageRejected(Exception):
    """An upload refused with an HTTP status, a short code and a sentence for the member."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, code, message)
        self.status = status
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


def rejected(code: str, limits: Limits | None = None) -> ImageRejected:
    status, template = REFUSALS[code]
    lim = limits or Limits()
    message = template.format(
        max_mib=round(lim.max_bytes / 2**20, 1),
        max_side=lim.max_side,
        max_mp=round(lim.max_pixels / 1e6),
        max_frames=lim.max_frames,
    )
    return ImageRejected(status, code, message)


@dataclass(frozen=True, slots=True)
class Ceilings:
    """The kernel-enforced bounds of one decode job in the cage (imaging/cage.py; README's
    IMAGE_* settings)."""

    memory_mb: int = 512  # address space a job may add to a warmed-up worker
    cpu_seconds: int = 10  # CPU time of one job, every thread counted
    deadline_seconds: float = 20.0  # wall clock of one job, from its start in a worker
    workers: int = 0  # 0: one a core
    nice: int = 0  # added to the workers' nice value: 19 for work done after an answer


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_side: int = 12_000
    max_frames: int = 300
    # Frames x canvas pixels. Every frame is decoded, resized and encoded seven times, about
    # 40 ns a source pixel here: 24 M keeps an animation under a second (280x280 at 300 frames,
    # 480x480 at 100, 640x480 at 78), and its frames under 100 MB.
    max_animation_pixels: int = 24_000_000
    ceilings: Ceilings = Ceilings()


# A cropper in a browser sends fractions that overshoot the edge by float noise.
_CROP_SLACK = 1e-3


@dataclass(frozen=True, slots=True)
class Crop:
    """A square in fractions of the oriented image: left, top, and side over the shorter side."""

    x: float
    y: float
    size: float

    def __post_init__(self) -> None:
        values = (self.x, self.y, self.size)
        if not all(math.isfinite(v) for v in values):
            raise rejected("bad_crop")
        if self.x < 0 or self.y < 0 or not 0 < self.size <= 1 + _CROP_SLACK:
            raise rejected("bad_crop")

    def box(self, width: int, height: int) -> tuple[float, float, float]:
        """Left, top and side in pixels of a width x height image; refused when outside it."""
        short = min(width, height)
        size = min(self.size, 1.0)
        x = _fit_edge(self.x, size * short / width)
        y = _fit_edge(self.y, size * short / height)
        if size * short < 1:
            raise rejected("bad_crop")
        return x * width, y * height, size * short

    def turned(self, width: int, height: int, quarter_turns: int) -> Crop:
        """The same square of a width x height picture once the picture is turned
        `quarter_turns` times clockwise: rotating keeps what was cropped."""
        left, top, side = self.box(width, height)
        for _ in range(quarter_turns % 4):  # (x, y) -> (height - y, x), the sides swapped
            left, top, width, height = max(height - top - side, 0.0), left, height, width
        return Crop(left / width, top / height, side / min(width, height))

    def token(self, width: int, height: int) -> str:
        """The crop as the digest sees it: the same box gives the same token."""
        left, top, side = self.box(width, height)
        return f"{left / width:.6f},{top / height:.6f},{side / min(width, height):.6f}"


def _fit_edge(start: float, extent: float) -> float:
    overshoot = start + extent - 1
    if overshoot > _CROP_SLACK:
        raise rejected("bad_crop")
    return start - max(overshoot, 0.0)


def centre_crop(width: int, height: int) -> Crop:
    return positioned("centre", width, height)


def positions_for(width: int, height: int) -> tuple[str, ...]:
    """The named squares that differ from one another on a picture of this shape."""
    if width > height:
        return ("left", "centre", "right")
    return ("top", "centre", "bottom") if height > width else ("centre",)


def positioned(name: str, width: int, height: int) -> Crop:
    """The whole-short-side square against the named edge (centred along the other axis)."""
    if name not in POSITIONS:
        raise rejected("bad_choice")
    short = min(width, height)
    across = {"left": 0.0, "right": 2.0}.get(name, 1.0)  # halves of the room left over
    down = {"top": 0.0, "bottom": 2.0}.get(name, 1.0)
    return Crop((width - short) * across / 2 / width, (height - short) * down / 2 / height, 1.0)


@dataclass(frozen=True, slots=True)
class CropChoices:
    """What a kept master offers the re-crop page: its size (turned as asked) and the square on
    its largest face (None: no face found, or an animation)."""

    size: tuple[int, int]
    face: Crop | None


@dataclass(frozen=True, slots=True)
class PictureWarning:
    """Something the member should know about a picture that was kept (the API's `warnings`)."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Suggestion:
    """The square offered when the member gives none, and how it was found."""

    crop: Crop
    source: str  # "face" or "centre"


@dataclass(frozen=True, slots=True)
class Variant:
    px: int
    ext: str
    mime: str
    data: bytes
    animated: bool


@dataclass(frozen=True, slots=True)
class Master:
    """The cleaned, oriented, sRGB, uncropped source, kept privately to crop again later."""

    data: bytes
    ext: str
    mime: str
    width: int
    height: int
    animated: bool


@dataclass(frozen=True, slots=True)
class Square:
    """The largest still variant's pixels, raw: what its AVIF copies are made from after the
    answer (imaging/avif.py), the very pixels its WebP was encoded from."""

    mode: str
    side: int
    pixels: bytes


@dataclass(frozen=True, slots=True)
class Processed:
    digest: str
    source_format: str
    source_width: int
    source_height: int
    orientation_applied: int
    animated: bool
    has_alpha: bool
    placeholder: str
    preview: bytes  # a tiny WebP of the square, for a blurred placeholder (encode.preview)
    master: Master
    variants: tuple[Variant, ...]
    crop: Crop  # the square cut from the master: its variants can be made again from it
    crop_source: str = "member"  # or "face" or "centre": how crop was chosen
    edits: tuple[str, ...] = ()  # the labels of the edits applied to the variants (edits.py)
    square: Square | None = None  # a still picture's largest square (None: an animation)

    def warnings(self) -> tuple[PictureWarning, ...]:
        """A square cut smaller than RECOMMENDED_MIN_PX: kept, but said."""
        side = round(min(self.crop.size, 1.0) * min(self.source_width, self.source_height))
        if side >= RECOMMENDED_MIN_PX:
            return ()
        message = SMALL_PICTURE.format(side=side, min=RECOMMENDED_MIN_PX)
        return (PictureWarning("small_picture", message),)
