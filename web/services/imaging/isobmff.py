"""HEIF and AVIF headers: the brand, size and frame count read from the ISOBMFF boxes.

A HEIF or AVIF file is a tree of boxes (ISO/IEC 14496-12): `ftyp` names the brands, `meta`
holds the still images' properties (`ispe`, each image's size before `irot`/`imir`), and `moov`
the tracks of a sequence (their sample count and the size in each visual sample entry). For
AVIF, the AV1 sequence header at the start of each item's data (`iloc`) and each track's first
chunk (`stco`) is read too: libavif sizes its buffers from it, not from `ispe`. Every size
found is checked, the largest wins, as the JPEG and PNG parsers do: a small primary image or
`ispe` cannot hide a huge tile, thumbnail, track or coded picture. (libheif checks HEVC data
against `ispe` itself, and refuses a mismatch.)
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from web.services.imaging.types import rejected

# Major or compatible brands: a file is AVIF when it names an AV1 brand, else HEIF when it
# names a HEVC (or generic image) one. `mif1`/`msf1` alone say "some image": libheif decides.
AVIF_BRANDS = frozenset({b"avif", b"avis"})
HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
)
# Boxes whose children are read; `meta` is a full box (4 bytes of version and flags first).
_CONTAINERS = {b"meta": 4, b"iprp": 0, b"ipco": 0, b"moov": 0, b"trak": 0, b"mdia": 0}
_CONTAINERS |= {b"minf": 0, b"stbl": 0}
_BOX = struct.Struct(">I4s")
_VISUAL_ENTRIES = frozenset({b"av01", b"hvc1", b"hev1", b"avc1"})
_OBU_SEQUENCE_HEADER = 1
_OBU_SCAN = 4096  # the sequence header leads an item's or sample's data: look no further


def brand(head: bytes) -> str | None:
    """AVIF, HEIF, or None when head is not an ftyp box naming one of their brands."""
    if head[4:8] != b"ftyp" or len(head) < 16:
        return None
    end = min(len(head), max(16, struct.unpack(">I", head[:4])[0]))
    brands = {head[8:12], *(head[pos : pos + 4] for pos in range(16, end - 3, 4))}
    if brands & AVIF_BRANDS:
        return "AVIF"
    if brands & HEIF_BRANDS:
        return "HEIF"
    return None


def parse(data: bytes, cap: int) -> tuple[int, int, int]:
    """Width, height (the largest in the file) and frames (the longest track, at most cap)."""
    width, height, frames = 0, 0, 1
    for kind, start, end in _walk(data, 0, len(data)):
        if kind == b"ispe":  # full box, then width and height
            w, h = struct.unpack(">II", data[start + 4 : start + 12])
        elif kind == b"stsd":  # full box, entry count, then the first sample entry
            w, h = _sample_entry_size(data, start + 8, end)
        elif kind == b"stsz":  # full box, sample size, sample count
            frames = max(frames, min(struct.unpack(">I", data[start + 8 : start + 12])[0], cap))
            continue
        else:
            continue
        width, height = max(width, w), max(height, h)
    return width, height, frames


def parse_avif(data: bytes, cap: int) -> tuple[int, int, int]:
    """As parse, and the size each AV1 sequence header in the coded data declares: the decoder
    (libavif) trusts that, not `ispe`, so a small `ispe` cannot hide a huge picture."""
    width, height, frames = parse(data, cap)
    for start in _coded_data_starts(data):
        w, h = _av1_size(data, start, min(len(data), start + _OBU_SCAN))
        width, height = max(width, w), max(height, h)
    return width, height, frames


def _coded_data_starts(data: bytes) -> list[int]:
    """Where each item's first extent (`iloc`) and each track's first chunk (`stco`) begins."""
    starts: list[int] = []
    for kind, start, _end in _walk(data, 0, len(data)):
        if kind == b"iloc":
            starts += _iloc_starts(data, start)
        elif kind in (b"stco", b"co64"):
            width = 4 if kind == b"stco" else 8
            if struct.unpack(">I", data[start + 4 : start + 8])[0]:
                starts.append(_uint(data, start + 8, width))
    return starts


def _iloc_starts(data: bytes, pos: int) -> list[int]:
    version = data[pos]
    offset_size, length_size = data[pos + 4] >> 4, data[pos + 4] & 15
    base_size, index_size = data[pos + 5] >> 4, data[pos + 5] & 15 if version else 0
    wide = version == 2
    count, pos = _uint(data, pos + 6, 4 if wide else 2), pos + (10 if wide else 8)
    starts = []
    for _ in range(count):
        pos += 4 if wide else 2  # item_ID
        method = 0
        if version:
            method, pos = _uint(data, pos, 2) & 15, pos + 2
        base, pos = _uint(data, pos + 2, base_size), pos + 2 + base_size  # after data_ref_index
        extents, pos = _uint(data, pos, 2), pos + 2
        for index in range(extents):
            pos += index_size
            offset, pos = _uint(data, pos, offset_size), pos + offset_size
            pos += length_size
            if index == 0 and method == 0:  # file offsets (1 and 2 point into other items)
                starts.append(base + offset)
    return starts


def _av1_size(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """max_frame_width and _height of the first sequence header OBU from pos, else (0, 0)."""
    while pos < end:
        header = data[pos]
        kind, extension, has_size = (header >> 3) & 15, (header >> 2) & 1, (header >> 1) & 1
        pos += 1 + extension
        size = end - pos
        if has_size:
            size, pos = _leb128(data, pos)
        if kind == _OBU_SEQUENCE_HEADER:
            return _sequence_header_size(_Bits(data, pos))
        pos += size
    return 0, 0


def _sequence_header_size(bits: _Bits) -> tuple[int, int]:
    """AV1 specification 5.5.1, up to max_frame_height_minus_1."""
    bits.read(3)  # seq_profile
    bits.read(1)  # still_picture
    if bits.read(1):  # reduced_still_picture_header
        bits.read(5)
    else:
        decoder_model, delay_bits = False, 0
        if bits.read(1):  # timing_info_present_flag
            bits.read(64)
            if bits.read(1):  # equal_picture_interval
                bits.uvlc()
            decoder_model = bool(bits.read(1))
            if decoder_model:
                delay_bits = bits.read(5) + 1
                bits.read(32 + 5 + 5)
        initial_display = bits.read(1)
        for _ in range(bits.read(5) + 1):  # operating points
            bits.read(12)
            if bits.read(5) > 7:  # seq_level_idx
                bits.read(1)
            if decoder_model and bits.read(1):
                bits.read(2 * delay_bits + 1)
            if initial_display and bits.read(1):
                bits.read(4)
    width_bits, height_bits = bits.read(4) + 1, bits.read(4) + 1
    return bits.read(width_bits) + 1, bits.read(height_bits) + 1


class _Bits:
    def __init__(self, data: bytes, pos: int) -> None:
        self.data, self.bit = data, pos * 8

    def read(self, count: int) -> int:
        value = 0
        for _ in range(count):
            byte = self.data[self.bit >> 3]
            value = (value << 1) | ((byte >> (7 - (self.bit & 7))) & 1)
            self.bit += 1
        return value

    def uvlc(self) -> int:
        zeros = 0
        while not self.read(1):
            zeros += 1
            if zeros >= 32:
                return (1 << 32) - 1
        return self.read(zeros) + (1 << zeros) - 1


def _leb128(data: bytes, pos: int) -> tuple[int, int]:
    value = 0
    for index in range(8):
        byte = data[pos + index]
        value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            return value, pos + index + 1
    raise rejected("corrupt")


def _uint(data: bytes, pos: int, size: int) -> int:
    if pos + size > len(data):
        raise rejected("corrupt")
    return int.from_bytes(data[pos : pos + size], "big")


def _sample_entry_size(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """A VisualSampleEntry: box header, 6 reserved, data reference index, 16 pre-defined."""
    if pos + 36 > end:
        raise rejected("corrupt")
    if data[pos + 4 : pos + 8] not in _VISUAL_ENTRIES:
        return 0, 0
    w, h = struct.unpack(">HH", data[pos + 32 : pos + 36])
    return int(w), int(h)


def _walk(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """Every box (type, body start, body end) under start..end, depth first."""
    for kind, body, box_end in _boxes(data, start, end):
        yield kind, body, box_end
        skip = _CONTAINERS.get(kind)
        if skip is not None:
            yield from _walk(data, body + skip, box_end)


def _boxes(data: bytes, pos: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    while pos + 8 <= end:
        size, kind = _BOX.unpack_from(data, pos)
        body = pos + 8
        if size == 1:  # a 64-bit size follows the type
            (size,) = struct.unpack(">Q", data[body : body + 8])
            body += 8
        elif size == 0:  # to the end of the enclosing box
            size = end - pos
        if size < body - pos or pos + size > end:
            raise rejected("corrupt")  # truncated, or a box claiming more than its parent
        yield kind, body, pos + size
        pos += size
