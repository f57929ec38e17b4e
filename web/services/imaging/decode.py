"""Pillow's side of decoding: open one format, decode at the draft scale, orient, make sRGB."""

from __future__ import annotations

import io
import mmap
import re
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import pillow_heif
from PIL import Image, ImageCms, ImageFile

from web.services.imaging.header import Header, check_header
from web.services.imaging.types import Limits, rejected

# EXIF orientation -> the transpose that makes the picture upright (as ImageOps.exif_transpose).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_WIDE_GREY = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I", "F"})
_PROFILE_MODES = frozenset({"RGB", "RGBA", "CMYK"})
_BYTE_ORDER = {b"II": "<", b"MM": ">"}
_XMP_ORIENTATION = re.compile(rb'tiff:Orientation(="|>)([0-9])')
# Everything Pillow raises for a file it cannot read. Warnings arrive here only when the
# process turns them into errors (as the tests do); otherwise Pillow prints them and goes on.
# pillow-heif raises RuntimeError for whatever libheif refuses (its own security limits too).
_UNREADABLE = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    IndexError,
    RuntimeError,
    Warning,
)


@contextmanager
def pillow_errors(limits: Limits) -> Iterator[None]:
    """Turns Pillow's ways of failing on a bad file into refusals."""
    try:
        yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise rejected("too_many_pixels", limits) from exc
    except _UNREADABLE as exc:
        raise rejected("corrupt", limits) from exc


def open_image(data: bytes, header: Header, limits: Limits) -> ImageFile.ImageFile:
    """Opens with the sniffed format's plugin only, so no other decoder ever sees the bytes.
    In the cage's workers `data` is a read-only mapping of the upload (handover.taken): Pillow
    reads it as the file it is, with no copy."""
    if header.format == "HEIF":
        _register_heif()
    source = data if isinstance(data, mmap.mmap) else io.BytesIO(data)
    im = Image.open(source, formats=[header.format])
    check_header(Header(header.format, *im.size, header.frames), limits)
    return im


@cache
def _register_heif() -> None:
    """pillow-heif's plugin, registered once, on the first HEIF. It applies `irot`/`imir` as it
    decodes and sets the EXIF orientation it hands on to 1: orientation() then reads 1, so the
    picture is turned once. Embedded thumbnails, depth and auxiliary images stay unread."""
    pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)


def draft(im: ImageFile.ImageFile, side: float, need: int) -> None:
    """Asks a JPEG for the smallest DCT scale (1/8 to 1) whose crop side still covers need px."""
    scale = next(k for k in (8, 4, 2, 1) if side / k >= need or k == 1)
    width, height = im.size
    im.draft("RGB", (max(1, width // scale), max(1, height // scale)))


def orientation(im: Image.Image) -> int:
    """The EXIF orientation (1-8) of a loaded image, else its XMP one, as exif_transpose reads.

    Read here rather than with getexif(), which parses every tag and warns on each damaged one.
    """
    exif = im.info.get("exif")
    value = _exif_orientation(exif) if isinstance(exif, bytes) else None
    if value is None:
        xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp") or b""
        found = _XMP_ORIENTATION.search(xmp if isinstance(xmp, bytes) else str(xmp).encode())
        value = int(found[2]) if found else 1
    return value if value in _UPRIGHT else 1


def _exif_orientation(exif: bytes) -> int | None:
    """Tag 0x0112 of the first IFD of a TIFF-structured EXIF block, if it is there."""
    tiff = exif.removeprefix(b"Exif\0\0")
    order = _BYTE_ORDER.get(tiff[:2])
    if order is None:
        return None
    try:
        (ifd,) = struct.unpack(order + "I", tiff[4:8])
        (count,) = struct.unpack(order + "H", tiff[ifd : ifd + 2])
        for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
            tag, kind, _, value = struct.unpack(order + "HHIH", tiff[entry : entry + 10])
            if tag == 0x0112 and kind == 3:  # a SHORT, left-justified in its value field
                return int(value)
    except struct.error:  # cut short before the tag
        return None
    return None


def upright(im: Image.Image, value: int) -> Image.Image:
    method = _UPRIGHT.get(value)
    return im if method is None else im.transpose(method)


def oriented_size(size: tuple[int, int], value: int) -> tuple[int, int]:
    return (size[1], size[0]) if value in (5, 6, 7, 8) else size


def to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """8-bit RGB, or RGBA when the mode can carry transparency; colours in sRGB."""
    if im.mode in _WIDE_GREY:
        im = _grey8(im)
    if icc and im.mode in _PROFILE_MODES:
        im = _from_profile(im, icc)
    target = "RGBA" if im.mode in _ALPHA_MODES or "transparency" in im.info else "RGB"
    return im if im.mode == target else im.convert(target)


def is_opaque(im: Image.Image) -> bool:
    if im.mode != "RGBA":
        return True
    low, _ = im.getchannel("A").getextrema()
    return bool(low == 255)


def _grey8(im: Image.Image) -> Image.Image:
    """16-bit grey scaled to 8 bits: a plain convert clips everything above 255 to white."""
    if im.mode == "F":
        return im.convert("L")
    if im.mode != "I;16":
        im = im.convert("I")
    return im.point(lambda v: v * (1 / 257) + 0.5).convert("L")


def _from_profile(im: Image.Image, icc: bytes) -> Image.Image:
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if im.mode != "CMYK" and "sRGB" in ImageCms.getProfileDescription(profile):
            return im  # already sRGB: skip ~10 ms of colour transform per megapixel
        out_mode = "RGBA" if im.mode == "RGBA" else "RGB"
        # Made per call: an lcms profile is not to be shared between threads.
        srgb = ImageCms.createProfile("sRGB")
        transform = ImageCms.buildTransform(profile, srgb, im.mode, out_mode)
        return transform.apply(im)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        # A broken or mismatched profile: the pixels are still good, read them as sRGB.
        return im
