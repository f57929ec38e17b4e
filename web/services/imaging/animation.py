"""An animation through the pipeline: every frame decoded one at a time, upright and sRGB on
the canvas of frame 0, cut down to the sizes it is encoded at, then the animated master and
variants (and still variants of frame 0)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from PIL import Image, ImageFile

from web.services.imaging import decode as dec
from web.services.imaging import encode as enc
from web.services.imaging.header import Header
from web.services.imaging.results import kept_master, processed
from web.services.imaging.source import Box, Source, load_source
from web.services.imaging.types import VARIANT_PX, Crop, Limits, Processed

# Formats whose frames are played as an animation; a HEIF's other images (a burst, a
# sequence track) are not: its primary image is the picture.
ANIMATED_FORMATS = frozenset({"PNG", "GIF", "WEBP", "AVIF"})
# Browsers show GIF frames of 0-10 ms for 100 ms; WebP players would not, so keep the look.
_MIN_FRAME_MS = 10
_SHORT_FRAME_MS = 100


@dataclass(slots=True)
class _Frames:
    """Each frame of an animation, already cut down to the sizes it will be encoded at."""

    stills: dict[int, Image.Image] = field(default_factory=dict)  # frame 0, every size
    durations: list[int] = field(default_factory=list)
    by_px: dict[int, list[Image.Image]] = field(default_factory=dict)
    masters: list[Image.Image] = field(default_factory=list)
    alpha: bool = False

    def add(self, frame: Image.Image, box: Box, duration: int, *, master: bool) -> None:
        if not self.stills:
            self.stills = enc.squares(frame, box, VARIANT_PX)
        self.alpha = self.alpha or frame.mode == "RGBA"
        self.durations.append(duration if duration > _MIN_FRAME_MS else _SHORT_FRAME_MS)
        for px, image in enc.squares(frame, box, enc.ANIMATED_PX, halve=True).items():
            self.by_px.setdefault(px, []).append(image)
        if master:
            self.masters.append(enc.fit(frame, enc.ANIMATED_MASTER_SIDE))


def animated(
    im: ImageFile.ImageFile, header: Header, crop: Crop | None, limits: Limits, kept: bytes | None
) -> Processed:
    source = load_source(im, im.size, header, crop, limits)
    loop = int(im.info.get("loop", 1))  # a GIF without a loop count plays once
    frames = _Frames()
    for frame in _frames(im, source, limits):
        frames.add(frame, source.box(frame), int(im.info.get("duration", 0)), master=not kept)
    if kept:
        master = kept_master(kept, header)
    else:
        master = enc.animated_master(frames.masters, frames.durations, loop)
    variants = enc.still_variants(frames.stills, frames.alpha)
    variants += enc.animated_variants(frames.by_px, frames.durations, loop)
    return processed(source, master, frames.alpha, frames.stills, variants)


def _frames(im: ImageFile.ImageFile, source: Source, limits: Limits) -> Iterator[Image.Image]:
    """Every frame upright and sRGB, on the canvas of frame 0, decoded one at a time.

    A frame is RGBA only when it has transparent pixels: resizing and encoding RGB is twice
    as fast, and most animations are opaque.
    """
    icc = im.info.get("icc_profile")
    for index in range(source.header.frames):
        with dec.pillow_errors(limits):
            if not _seek(im, index):
                return
            im.load()  # now, while errors are refusals: later steps would load lazily
            frame = dec.upright(dec.to_srgb(im, icc), source.orientation)
        frame = frame.copy() if frame is im else frame  # the next seek reuses im
        if dec.is_opaque(frame) and frame.mode != "RGB":
            frame = frame.convert("RGB")
        if frame.size != source.size:
            # A GIF frame may grow the canvas past the logical screen: keep the first canvas.
            frame = frame.crop((0, 0, *source.size))
        yield enc.clean(frame)


def _seek(im: ImageFile.ImageFile, index: int) -> bool:
    """Moves to frame index; False past the last frame a short file really holds."""
    try:
        im.seek(index)
    except EOFError:
        if index == 0:
            raise
        return False
    return True
