"""Format, size and frame count read from the bytes alone, before Pillow allocates anything.

Pillow checks sizes too, but only against its own, larger limits, with a warning first; and its
WebP plugin allocates the whole canvas when it opens a file. Reading the header here refuses
bombs before any of that, and counts frames without walking all of a 40,000-frame GIF.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass

from web.services.imaging import isobmff
from web.services.imaging.types import Limits, rejected

_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
)
# Enough for every magic number and an ftyp box with a dozen compatible brands.
SNIFF_BYTES = 64
# Start-of-frame markers carry the size; C4, C8 and CC are other tables in the same range.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# The next marker that has a length, or ends the image: 0xFF, then neither 0x00 (a 0xFF in
# coded data or junk), nor 0xFF (fill), nor a restart or TEM (no length, nothing to read).
# Junk before a marker is skipped, as Pillow and libjpeg do: a metadata segment whose length
# is off by a byte must not hide good pixels (or a bomb). One regex search crosses a scan's
# coded data in C: a 5 MB, 12 MP photo is walked in about 2 ms.
_JPEG_MARKER = re.compile(rb"\xff[\x02-\xcf\xd8-\xfe]")
# Scans in a JPEG. Progressive files have about 10 (libjpeg's default script has 10, mozjpeg's
# a few more); each scan makes the decoder pass over every coefficient of the picture again,
# so 400 scans of a 6000x6000 picture in 169 KB took 9 s to decode.
MAX_JPEG_SCANS = 100
# Segments (tables, metadata, scans) in a JPEG: a camera's have 10 to 30, a 100-scan
# progressive file a few hundred, each of at least 4 bytes; more is refused before it costs.
MAX_JPEG_SEGMENTS = 1_000
# Chunks before a PNG's image data: IHDR and a handful (colour, text, APNG's acTL and fcTL);
# each at least 12 bytes and a step of Python, 10 MB of them took 2 s.
MAX_PNG_CHUNKS = 1_000
# Chunks in a WebP: an animation's frames (at most max_frames are walked) and a handful more.
MAX_WEBP_CHUNKS = 1_000
# Blocks in a GIF: extensions, and the sub-blocks of data each extension or frame holds.
# Encoders write 255-byte sub-blocks, so a 10 MB GIF has about 41,000; 1-byte ones made 2
# MB cost 0.4 s to walk.
MAX_GIF_BLOCKS = 100_000


@dataclass(frozen=True, slots=True)
class Header:
    format: str
    width: int
    height: int
    frames: int


def sniff_format(head: bytes) -> str:
    """JPEG, PNG, GIF, WEBP, HEIF or AVIF from the magic bytes (for the last two, the brands
    of the `ftyp` box, up to its first 64 bytes); anything else is refused."""
    if not head:
        raise rejected("empty")
    for magic, fmt in _MAGIC:
        if head.startswith(magic):
            return fmt
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if branded := isobmff.brand(head):
        return branded
    raise rejected("unsupported_format")


def read_header(data: bytes, limits: Limits) -> Header:
    fmt = sniff_format(data[:SNIFF_BYTES])
    try:
        width, height, frames = _PARSERS[fmt](data, limits.max_frames + 1)
    except (IndexError, struct.error) as exc:
        raise rejected("corrupt") from exc
    except isobmff.SizeMismatch as exc:  # too large is the clearer refusal, else corrupt
        check_header(Header(fmt, exc.width, exc.height, exc.frames), limits)
        raise rejected("corrupt") from exc
    header = Header(fmt, width, height, frames)
    check_header(header, limits)
    return header


def check_header(header: Header, limits: Limits) -> None:
    width, height = header.width, header.height
    if width <= 0 or height <= 0:
        raise rejected("corrupt", limits)
    if max(width, height) > limits.max_side or width * height > limits.max_pixels:
        raise rejected("too_many_pixels", limits)
    if header.frames > limits.max_frames:
        raise rejected("too_many_frames", limits)
    if header.frames > 1 and header.frames * width * height > limits.max_animation_pixels:
        raise rejected("animation_too_large", limits)


def _jpeg(data: bytes, cap: int) -> tuple[int, int, int]:
    """Every segment to the end of the image, scans' coded data skipped: the frame headers
    before the first scan (Pillow reads all of those: all are checked), and the scans."""
    sizes, scans, segments, pos = [], 0, 0, 2
    while (found := _JPEG_MARKER.search(data, pos)) and (marker := data[found.start() + 1]) != 0xD9:
        pos = found.start()
        if marker == 0xD8:  # a stray start of image: no length
            pos += 2
            continue
        if marker in _JPEG_SOF and not scans:
            sizes.append(struct.unpack(">BHH", data[pos + 4 : pos + 9]))
        scans += marker == 0xDA
        segments += 1
        if scans > MAX_JPEG_SCANS or segments > MAX_JPEG_SEGMENTS:
            raise rejected("too_complex")
        pos += 2 + _u16(data, pos + 2)
    if not sizes or not scans:
        raise rejected("corrupt")
    if any(bits != 8 for bits, _, _ in sizes):
        raise rejected("unsupported_encoding")
    return max(s[2] for s in sizes), max(s[1] for s in sizes), 1


def _png(data: bytes, cap: int) -> tuple[int, int, int]:
    if data[12:16] != b"IHDR":
        raise rejected("corrupt")
    width, height, frames, pos = 0, 0, 1, 8
    for _ in range(MAX_PNG_CHUNKS + 1):
        if pos + 8 > len(data):
            break
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        if kind == b"IDAT":
            break
        if kind == b"IHDR":
            w, h = struct.unpack(">II", data[pos + 8 : pos + 16])
            width, height = max(width, w), max(height, h)
        elif kind == b"acTL":
            # The declared count: Pillow plays as many frames as this says.
            frames = max(1, min(struct.unpack(">I", data[pos + 8 : pos + 12])[0], cap))
        pos += 12 + length
    else:
        raise rejected("too_complex")
    return width, height, frames


def _gif(data: bytes, cap: int) -> tuple[int, int, int]:
    width, height = struct.unpack("<HH", data[6:10])
    if not width or not height:
        return 0, 0, 1
    pos, frames, blocks = 13 + _gif_table(data[10]), 0, [MAX_GIF_BLOCKS]
    while pos < len(data) and frames < cap and data[pos] in (0x21, 0x2C):
        if data[pos] == 0x21:  # extension: label, then sub-blocks
            pos = _gif_sub_blocks(data, pos + 2, blocks)
            continue
        # A frame may reach past the logical screen; Pillow then grows the canvas to fit it.
        x, y, w, h = struct.unpack("<4H", data[pos + 1 : pos + 9])
        width, height = max(width, x + w), max(height, y + h)
        frames += 1
        pos = _gif_sub_blocks(data, pos + 11 + _gif_table(data[pos + 9]), blocks)
    return width, height, max(frames, 1)


def _gif_table(flags: int) -> int:
    return 3 << ((flags & 7) + 1) if flags & 0x80 else 0


def _gif_sub_blocks(data: bytes, pos: int, left: list[int]) -> int:
    """Position after the sub-blocks starting at pos (each a length byte, 0 ends them);
    each run, and each sub-block, is taken from what is left of the file's MAX_GIF_BLOCKS."""
    left[0] -= 1
    while left[0] >= 0:
        if pos >= len(data) or not data[pos]:
            return pos + 1
        pos += 1 + data[pos]
        left[0] -= 1
    raise rejected("too_complex")


def _webp(data: bytes, cap: int) -> tuple[int, int, int]:
    width, height, frames, pos, chunks = 0, 0, 0, 12, 0
    while pos + 8 <= len(data) and frames < cap:
        chunks += 1
        if chunks > MAX_WEBP_CHUNKS:
            raise rejected("too_complex")
        kind, size = struct.unpack("<4sI", data[pos : pos + 8])
        if kind == b"ANMF":
            frames += 1
        elif not width:
            width, height = _webp_size(kind, data[pos + 8 : pos + 18])
        pos += 8 + size + (size & 1)
    return width, height, max(frames, 1)


def _webp_size(kind: bytes, body: bytes) -> tuple[int, int]:
    if kind == b"VP8X":  # the canvas of an extended file, whatever its frames say
        return 1 + int.from_bytes(body[4:7], "little"), 1 + int.from_bytes(body[7:10], "little")
    if kind == b"VP8 ":
        w, h = struct.unpack("<HH", body[6:10])
        return w & 0x3FFF, h & 0x3FFF
    if kind == b"VP8L":
        bits = int.from_bytes(body[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return 0, 0


def _u16(data: bytes, pos: int) -> int:
    return int(struct.unpack(">H", data[pos : pos + 2])[0])


_PARSERS: dict[str, Callable[[bytes, int], tuple[int, int, int]]] = {
    "JPEG": _jpeg,
    "PNG": _png,
    "GIF": _gif,
    "WEBP": _webp,
    "HEIF": isobmff.parse,
    "AVIF": isobmff.parse_avif,
}
