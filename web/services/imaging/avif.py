"""AVIF copies of a still picture's larger variants, kept only where they are smaller than the
WebP at equal quality. Run in the cage after the upload's answer (pictures/avif.py).

Equal quality is measured, per file: the WebP's PSNR against the square both are encoded from,
then AVIF at rising quality until its PSNR reaches the WebP's. That AVIF is kept only if its
bytes are fewer than the WebP's; past them a higher quality would only add bytes, so the size
keeps its WebP alone.
"""

from __future__ import annotations

import io
import math

from PIL import Image, ImageChops, ImageStat

from web.services.imaging import encode as enc
from web.services.imaging.types import VARIANT_PX

# bench/avif.py: at equal PSNR, AVIF's median bytes are under the WebP's from 80 px up (0.93x at
# 80, 0.74-0.78x at 192 and 384) and over them below (1.04-1.17x at 24 and 48). Per file, at 80
# and 96 px the AVIF kept saved 15-63 bytes (0.6-2.6 %) for 75-85 ms of CPU each, about a third of
# a picture's AVIF work, which runs beside the next upload; 192 and 384 px save 3-32 %.
AVIF_PX = (192, 384)
# The lowest quality that reached the WebP's PSNR was 60-70 at these sizes on the bench's
# photos (libavif speed 6): starting just below it, one to three encodes find the match.
QUALITIES = range(55, 95, 5)
_SPEED = 6  # libavif's default; 8 saves time but loses the bytes at 192 px (0.85x, not 0.75x)
_THREADS = 1  # after the answer, at the lowest priority: one core is plenty


def avif_variants(
    pixels: bytes, *, mode: str, side: int, webps: dict[int, bytes]
) -> dict[int, bytes]:
    """The AVIF per size in AVIF_PX that matches its WebP (`webps`, by px) and is smaller."""
    made = {}
    for px in AVIF_PX:
        webp = webps.get(px)
        found = (
            None if webp is None else avif_variant(pixels, mode=mode, side=side, px=px, webp=webp)
        )
        if found is not None:
            made[px] = found
    return made


def avif_variant(pixels: bytes, *, mode: str, side: int, px: int, webp: bytes) -> bytes | None:
    """The AVIF at px that matches this WebP and is smaller, if any (the cage runs one size a job,
    so that a job is short: see cage.avif)."""
    top = Image.frombytes(mode, (side, side), pixels)
    # The same chain as the variants (encode.squares from the largest): the same pixels.
    images = enc.squares(top, (0, 0, side, side), [size for size in VARIANT_PX if size >= px])
    return smaller_match(images[px], webp) if px in images else None


def smaller_match(im: Image.Image, webp: bytes) -> bytes | None:
    """The AVIF of im at the lowest quality whose PSNR reaches the WebP's, if it has fewer bytes."""
    target = psnr(im, _decoded(webp))
    for quality in QUALITIES:
        data = encode(im, quality)
        if len(data) >= len(webp):
            return None
        if psnr(im, _decoded(data)) >= target:
            return data
    return None


def encode(im: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "AVIF", quality=quality, speed=_SPEED, max_threads=_THREADS)
    return buf.getvalue()


def psnr(a: Image.Image, b: Image.Image) -> float:
    """Peak signal-to-noise ratio of b against a, every band counted (alpha too), in dB."""
    stat = ImageStat.Stat(ImageChops.difference(a, b.convert(a.mode)))
    mse = sum(m * m + v for m, v in zip(stat.mean, stat.var, strict=True)) / len(stat.mean)
    return 99.0 if mse == 0 else 10 * math.log10(255**2 / mse)


def _decoded(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im.copy()
