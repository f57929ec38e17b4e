"""HEIF and AVIF headers: the brand, size and frame count read from the ISOBMFF boxes.

A HEIF or AVIF file is a tree of boxes (ISO/IEC 14496-12): `ftyp` names the brands, `meta`
holds the still images' properties (`ispe`, each image's size before `irot`/`imir`), and `moov`
the tracks of a sequence (their sample count and the size in each visual sample entry). Every
size found is checked, the largest wins, as the JPEG and PNG parsers do: a small primary image
cannot hide a huge tile, thumbnail or track.
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
