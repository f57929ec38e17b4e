"""Hostile image files made in code: the crafted inputs of issue 21, as bytes.

Each is a real file of its format (made with Pillow or pillow-heif, then reworked by hand)
built to cost the parsers or the decoders as much as its few bytes can: a coded size hidden
past where a parser stops looking, an `iloc` declaring millions of extents, boxes nested
thousands deep, a JPEG of hundreds of scans, and long runs of the smallest structure each
format allows. The unit and server tests both import them.
"""

from __future__ import annotations

import struct

from tests import images

OBU_PADDING = 15
_OBU_SEQUENCE_HEADER = 1


# --- ISOBMFF: HEIF and AVIF --------------------------------------------------------------


def box(kind: bytes, body: bytes = b"") -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def full_box(kind: bytes, body: bytes = b"", version: int = 0, flags: int = 0) -> bytes:
    return box(kind, struct.pack(">I", version << 24 | flags) + body)


def ftyp(brand: bytes) -> bytes:
    return box(b"ftyp", brand + b"\0\0\0\0" + b"mif1" + brand)


def ispe(width: int, height: int) -> bytes:
    return full_box(b"ispe", struct.pack(">II", width, height))


def heif_nested(depth: int, *, brand: bytes = b"heic", siblings: int = 0) -> bytes:
    """`iprp` boxes nested depth deep in the `meta`, an `ispe` at the bottom, and `siblings`
    empty `free` boxes beside each (a walk that is quadratic in depth pays for each). Written
    outside in, in time linear in its size."""
    inner, filler = ispe(64, 64), box(b"free") * siblings
    sizes = [len(inner) + (8 + len(filler)) * level for level in range(depth, 0, -1)]
    nest = b"".join(struct.pack(">I", size) + b"iprp" for size in sizes)
    return ftyp(brand) + full_box(b"meta", nest + inner + filler * depth)


def avif_nested(depth: int, *, siblings: int = 0) -> bytes:
    return heif_nested(depth, brand=b"avif", siblings=siblings)


def isobmff_many_boxes(count: int, *, brand: bytes = b"heic") -> bytes:
    """A real picture followed by count empty `free` boxes at the top level."""
    data = images.heic() if brand == b"heic" else images.avif()
    return data + box(b"free") * count


def avif_iloc_bomb(items: int = 1_000, extents: int = 65_535) -> bytes:
    """An `iloc` whose offset and length fields are zero bytes wide: each item costs its six
    header bytes, and declares `extents` extents of no bytes at all (6 KB for 65 million)."""
    wide = items > 0xFFFF  # version 2: 32-bit item IDs and count
    entry = struct.Struct(">IHHH" if wide else ">HHH")  # item, [method,] data ref, extents
    fields = (0, 0, extents) if wide else (0, extents)
    entries = b"".join(entry.pack(item, *fields) for item in range(1, items + 1))
    count = struct.pack(">I" if wide else ">H", items)
    iloc = full_box(b"iloc", b"\0\0" + count + entries, version=2 if wide else 0)
    return ftyp(b"avif") + full_box(b"meta", iloc)


def avif_item_data(data: bytes) -> bytes:
    """The coded data of the single item of an AVIF that Pillow wrote (`iloc` version 0,
    4-byte offset and length, one extent)."""
    offset, length = _iloc_extent(data)
    return data[offset : offset + length]


def with_avif_item_data(data: bytes, coded: bytes) -> bytes:
    """The AVIF with its item's data replaced by coded, in a new `mdat` at the end."""
    at = images.isobmff_box(data, b"iloc")
    assert data[at + 8] == 0 and data[at + 12] == 0x44, "iloc v0, 4-byte offset and length"
    out = bytearray(data)
    out[at + 22 : at + 30] = struct.pack(">II", len(data) + 8, len(coded))
    return bytes(out) + box(b"mdat", coded)


def _iloc_extent(data: bytes) -> tuple[int, int]:
    at = images.isobmff_box(data, b"iloc")
    offset, length = struct.unpack(">II", data[at + 22 : at + 30])
    return int(offset), int(length)


def obu(kind: int, payload: bytes) -> bytes:
    """An OBU with its size field (no extension)."""
    return bytes([kind << 3 | 2]) + leb128(len(payload)) + payload


def leb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def obus(coded: bytes) -> list[tuple[int, bytes]]:
    """(type, payload) of each OBU of coded data written with size fields."""
    found, pos = [], 0
    while pos < len(coded):
        kind, pos = (coded[pos] >> 3) & 15, pos + 1 + ((coded[pos] >> 2) & 1)
        size = shift = 0
        while True:
            byte, pos = coded[pos], pos + 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        found.append((kind, coded[pos : pos + size]))
        pos += size
    return found


def resized_sequence_header(payload: bytes, width: int, height: int) -> bytes:
    """A sequence header OBU's payload claiming width x height, all its other fields kept:
    its frame size fields are rewritten 16 bits wide, and the bits after them moved along."""
    bits = "".join(f"{byte:08b}" for byte in payload)
    start = _frame_size_bits_at(bits)
    old_w, old_h = int(bits[start : start + 4], 2) + 1, int(bits[start + 4 : start + 8], 2) + 1
    rest = bits[start + 8 + old_w + old_h :].rstrip("0")  # its trailing bits: a 1, then 0s
    sized = "11111111" + f"{width - 1:016b}{height - 1:016b}"
    out = bits[:start] + sized + rest
    out += "0" * (-len(out) % 8)
    return bytes(int(out[i : i + 8], 2) for i in range(0, len(out), 8))


def _frame_size_bits_at(bits: str) -> int:
    """Where frame_width_bits_minus_1 is, in a header without timing info (as libavif and
    libaom write for still pictures and for sequences without a timing model)."""
    if bits[4] == "1":  # reduced_still_picture_header: profile, still, it, seq_level_idx
        return 10
    assert bits[5] == "0", "timing info: not written by Pillow's encoder"
    initial_display, pos = bits[6] == "1", 7
    points, pos = int(bits[pos : pos + 5], 2) + 1, pos + 5
    for _ in range(points):
        level, pos = int(bits[pos + 12 : pos + 17], 2), pos + 17
        pos += level > 7
        if initial_display:
            pos += 1 + 4 * (bits[pos] == "1")
    return pos


def avif_padded_sequence_header(
    coded: tuple[int, int] = (16_000, 16_000),
    shown: tuple[int, int] = (64, 64),
    padding: int = 4_200,
) -> bytes:
    """A `shown`-sized AVIF (its `ispe` says so) whose sequence header claims `coded`, behind
    a padding OBU of `padding` bytes: a parser that looks at the first 4 KB sees no size."""
    data = images.avif(images.solid(shown))
    parts = obus(avif_item_data(data))
    out = b""
    for kind, payload in parts:
        if kind == _OBU_SEQUENCE_HEADER:
            out += obu(OBU_PADDING, b"\0" * padding)
            payload = resized_sequence_header(payload, *coded)
        out += obu(kind, payload)
    return with_avif_item_data(data, out)


def avif_many_obus(count: int, size: tuple[int, int] = (64, 48)) -> bytes:
    """A real AVIF whose item's data starts with count empty padding OBUs (2 bytes each)."""
    data = images.avif(images.solid(size))
    return with_avif_item_data(data, obu(OBU_PADDING, b"") * count + avif_item_data(data))


def avif_without_sequence_header() -> bytes:
    data = images.avif()
    kept = [(k, p) for k, p in obus(avif_item_data(data)) if k != _OBU_SEQUENCE_HEADER]
    return with_avif_item_data(data, b"".join(obu(k, p) for k, p in kept))


# --- JPEG ----------------------------------------------------------------------------------


def jpeg_many_scans(scans: int = 400, size: tuple[int, int] = (6_000, 6_000)) -> bytes:
    """A progressive JPEG whose last scan is repeated until it has `scans` scans: each costs
    the decoder a pass over every block of the picture, and a few bytes in the file."""
    data = images.encode(images.solid(size), "JPEG", progressive=True, quality=90)
    assert data.endswith(b"\xff\xd9")
    last = data.rindex(b"\xff\xda")
    made = data.count(b"\xff\xda")
    return data[:-2] + data[last:-2] * (scans - made) + b"\xff\xd9"


def jpeg_many_segments(count: int) -> bytes:
    """A real JPEG with count empty comment segments (4 bytes each) after its start."""
    data = images.jpeg()
    return data[:2] + b"\xff\xfe\x00\x02" * count + data[2:]


# --- PNG, GIF, WebP ------------------------------------------------------------------------


def png_many_chunks(count: int) -> bytes:
    """A real PNG with count empty private chunks (12 bytes each) before its image data."""
    data = images.png()
    ihdr_end = 8 + 25
    return data[:ihdr_end] + images.png_chunk(b"prVt", b"") * count + data[ihdr_end:]


def gif_many_extensions(count: int) -> bytes:
    """A real GIF with count one-byte comment extensions (5 bytes each) before its frame."""
    data = images.gif()
    first = _gif_first_block(data)
    return data[:first] + b"\x21\xfe\x01A\x00" * count + data[first:]


def gif_many_sub_blocks(count: int) -> bytes:
    """A real GIF with one comment extension of count one-byte sub-blocks (2 bytes each)."""
    data = images.gif()
    first = _gif_first_block(data)
    return data[:first] + b"\x21\xfe" + b"\x01A" * count + b"\x00" + data[first:]


def _gif_first_block(data: bytes) -> int:
    flags = data[10]
    return 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)


def webp_many_chunks(count: int) -> bytes:
    """A real (simple, lossless) WebP with count empty unknown chunks (8 bytes each) first."""
    data = images.webp()
    body = data[12:]
    chunks = b"XTRA\0\0\0\0" * count + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WEBP" + chunks
