"""Squares, sizes and bytes: crop, resize in one chain from large to small, encode from pixels.

Every image saved here was made by resize or convert from decoded pixels, with `info` emptied,
and every save names its options explicitly: no EXIF, ICC profile, comment or text chunk of the
upload can reach an output.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

from PIL import Image

from web.services.imaging.types import ANIMATED_MAX_PX, VARIANT_PX, Master, Variant

MASTER_SIDE = 1024
# Every animated frame is encoded once per size: the master and variants of an animation stay
# small so that a 300-frame upload costs about a second, not ten.
ANIMATED_MASTER_SIDE = 384
ANIMATED_PX = tuple(px for px in VARIANT_PX if px <= ANIMATED_MAX_PX)

# Measured on a 12 MP photo: method 2 makes the WebPs 2.5x faster than 4, for 4 % more bytes;
# process() is then 1.45x a bare draft decode instead of 1.6x (bench/pipeline.py).
_WEBP_METHOD = 2
_LANCZOS = Image.Resampling.LANCZOS
_BICUBIC = Image.Resampling.BICUBIC
_MIME = {"webp": "image/webp", "jpg": "image/jpeg", "png": "image/png"}
_SAVE: dict[str, tuple[str, dict[str, Any]]] = {
    "webp": ("WEBP", {"quality": 80, "method": _WEBP_METHOD}),
    "jpg": ("JPEG", {"quality": 82, "progressive": True, "optimize": False}),
    "png": ("PNG", {"compress_level": 6}),
}
_MASTER_QUALITY = 90


def clean(im: Image.Image) -> Image.Image:
    """Drops whatever the decoder put in `info`; resize and convert would copy it along."""
    im.info = {}
    return im


def squares(
    frame: Image.Image,
    box: tuple[float, float, float, float],
    sizes: Iterable[int],
    *,
    halve: bool = False,
) -> dict[int, Image.Image]:
    """The crop box at every size, each resized from the next larger one.

    With halve, a size that is half of one already made is its 2x2 box average (reduce),
    ten times cheaper than Lanczos: for the many frames of an animation, where it does not show.
    """
    out: dict[int, Image.Image] = {}
    current = frame
    source_box: tuple[float, float, float, float] | None = box
    # The first step, from the frame (a phone JPEG's draft: under twice the largest size), is
    # bicubic: a quarter cheaper than Lanczos there (6.4 -> 4.5 ms on a phone photo), 49-61 dB
    # from it (at most 11 levels off, on sensor noise). Each smaller size is Lanczos.
    method = _BICUBIC
    for px in sorted(sizes, reverse=True):
        if halve and 2 * px in out:
            current = out[2 * px].reduce(2)
        else:
            # reducing_gap shrinks a big source by whole factors first: much faster.
            current = current.resize((px, px), method, box=source_box, reducing_gap=3.0)
        source_box, method = None, _LANCZOS
        out[px] = current
    return out


def fit(im: Image.Image, side: int) -> Image.Image:
    """Downscaled so that the longer side is at most side pixels."""
    scale = side / max(im.size)
    if scale >= 1:
        return im
    size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
    return im.resize(size, _LANCZOS, reducing_gap=3.0)


def encode(im: Image.Image, ext: str, **options: Any) -> bytes:
    fmt, defaults = _SAVE[ext]
    buf = io.BytesIO()
    im.save(buf, fmt, **(defaults | options))
    return buf.getvalue()


def still_variants(images: dict[int, Image.Image], alpha: bool) -> list[Variant]:
    """WebP plus a JPEG (or PNG when transparent) for browsers without WebP.

    Encoded side by side, the largest on the calling thread, the rest in two batches on
    threads() meanwhile: Pillow's encoders release the GIL, so the second core takes half of
    the work. Batches, not a task each: a hand-off to a pool thread costs more CPU than
    encoding a 24 px picture.
    """
    exts = ("webp", "png" if alpha else "jpg")
    first, *rest = [(px, ext) for px in sorted(images, reverse=True) for ext in exts]
    batches = [rest[0::2], rest[1::2]]
    later = [
        threads().submit(_encode_all, _own(images, batch), batch) for batch in batches if batch
    ]
    data = {first: encode(images[first[0]], first[1])}
    for future in later:
        data |= future.result()
    return [
        Variant(px, ext, _MIME[ext], data[px, ext], animated=False)
        for px in sorted(images)
        for ext in exts
    ]


def _own(images: dict[int, Image.Image], jobs: list[tuple[int, str]]) -> dict[int, Image.Image]:
    """Copies of the sizes a batch encodes: Image.save keeps its options on the image
    (`encoderinfo`), so two threads saving one image at once swap each other's quality and
    format options (a JPEG saved with the WebP's, up to 34 levels off here)."""
    return {px: images[px].copy() for px in {px for px, _ in jobs}}


def _encode_all(
    images: dict[int, Image.Image], jobs: list[tuple[int, str]]
) -> dict[tuple[int, str], bytes]:
    return {(px, ext): encode(images[px], ext) for px, ext in jobs}


@cache
def threads() -> ThreadPoolExecutor:
    """The encoders' threads, one a core, shared by every upload of the process and made on
    first use. Only leaf work (one encode, one hash) runs on them: nothing there waits for them."""
    return ThreadPoolExecutor(os.cpu_count() or 2, thread_name_prefix="encode")


def animated_variants(
    frames: dict[int, list[Image.Image]], durations: Sequence[int], loop: int
) -> list[Variant]:
    return [
        Variant(px, "webp", _MIME["webp"], animate(frames[px], durations, loop), animated=True)
        for px in sorted(frames)
    ]


def animate(
    frames: list[Image.Image],
    durations: Sequence[int],
    loop: int,
    quality: int = 80,
    method: int = _WEBP_METHOD,
) -> bytes:
    buf = io.BytesIO()
    frames[0].save(
        buf,
        "WEBP",
        save_all=True,
        append_images=frames[1:],
        duration=list(durations),
        loop=loop,
        quality=quality,
        method=method,
        # No key frames after the first: each frame is encoded once, as a change on the last,
        # instead of twice to compare; 3x faster and smaller here. Players decode in order.
        kmin=0,
        kmax=0,
    )
    return buf.getvalue()


def still_master(im: Image.Image, alpha: bool) -> Master:
    """JPEG for opaque pictures (fast, small); PNG keeps transparency exactly."""
    fitted = fit(im, MASTER_SIDE)
    ext = "png" if alpha else "jpg"
    # Baseline, not progressive: the master is read by us, and encodes three times faster.
    options = {"quality": _MASTER_QUALITY, "progressive": False} if ext == "jpg" else {}
    data = encode(fitted, ext, **options)
    return Master(data, ext, _MIME[ext], fitted.width, fitted.height, animated=False)


def animated_master(frames: list[Image.Image], durations: Sequence[int], loop: int) -> Master:
    # Method 0: a third faster than 2 at this quality, for the same size; nobody downloads it.
    data = animate(frames, durations, loop, quality=_MASTER_QUALITY, method=0)
    width, height = frames[0].size
    return Master(data, "webp", _MIME["webp"], width, height, animated=True)


def placeholder(im: Image.Image) -> str:
    """The average colour, as CSS; resize weighs colours by their alpha."""
    red, green, blue, _ = im.convert("RGBA").resize((1, 1), Image.Resampling.BOX).tobytes()
    return f"#{red:02x}{green:02x}{blue:02x}"


# The page paints this before the picture arrives, blurred by the browser's upscaling and the
# stylesheet (.avatar-ph). WebP's headers are ~60 bytes whatever the size: 10 px at quality 20
# is ~95 bytes (a 150-character data: URI in each avatar's HTML); 12 px at 40 costs ~30 more
# for a blur nobody tells apart.
PREVIEW_PX = 10
_PREVIEW_QUALITY = 20


def preview(im: Image.Image, alpha: bool) -> bytes:
    """A tiny WebP of the square (with its transparency, if any), for a blurred placeholder."""
    small = im.convert("RGBA" if alpha else "RGB").resize(
        (PREVIEW_PX, PREVIEW_PX), Image.Resampling.BOX
    )
    return encode(clean(small), "webp", quality=_PREVIEW_QUALITY, method=6)
