"""HEIF and AVIF headers: the brand, size and frame count read from the ISOBMFF boxes.

A HEIF or AVIF file is a tree of boxes (ISO/IEC 14496-12): `ftyp` names the brands, `meta`
holds the still images (`iinf` their types, `iloc` where their data lies, `ipco`/`ipma` their
properties, among them `ispe`, each image's size before `irot`/`imir`), and `moov` the tracks
of a sequence (their sample count, the size in each visual sample entry, where the samples
lie). Every size found is checked, the largest wins, as the JPEG and PNG parsers do: a small
primary image or `ispe` cannot hide a huge tile, thumbnail, grid or track.

For AVIF, every OBU of every AV1 item, and of the samples of every AV1 track that would be
played, is walked too (see av1): libavif sizes its buffers from the sequence headers there,
not from `ispe`. An AV1 item must hold a sequence header, and each must agree with its
`ispe`, or the file is corrupt. (libheif checks HEVC data against `ispe` itself.)

The tree is walked once, without recursion, in a bounded number of steps; see MAX_*. The
pieces: boxes (the walk and its bounds), items (what the boxes say: sizes, items, tracks), coded
(the AV1 sequence headers' sizes).
"""

from __future__ import annotations

import struct

from web.services.imaging.isobmff.boxes import MAX_BOXES, MAX_DEPTH
from web.services.imaging.isobmff.coded import coded_sizes
from web.services.imaging.isobmff.items import MAX_EXTENTS, MAX_ITEMS, read
from web.services.imaging.types import ImageRejected, rejected

__all__ = [
    "AVIF_BRANDS",
    "HEIF_BRANDS",
    "MAX_BOXES",
    "MAX_DEPTH",
    "MAX_EXTENTS",
    "MAX_ITEMS",
    "SizeMismatch",
    "brand",
    "parse",
    "parse_avif",
]

# Major or compatible brands: a file is AVIF when it names an AV1 brand, else HEIF when it
# names a HEVC (or generic image) one. `mif1`/`msf1` alone say "some image": libheif decides.
AVIF_BRANDS = frozenset({b"avif", b"avis"})
HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
)


class SizeMismatch(ImageRejected):
    """An AV1 item whose sequence header and `ispe` disagree: corrupt, unless its largest
    size is over the limits, which is the clearer refusal (header.read_header decides)."""

    def __init__(self, width: int, height: int, frames: int) -> None:
        corrupt = rejected("corrupt")
        super().__init__(corrupt.status, corrupt.code, corrupt.message)
        self.width, self.height, self.frames = width, height, frames


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
    found = read(data, cap)
    return *_largest(found.sizes), found.frames


def parse_avif(data: bytes, cap: int) -> tuple[int, int, int]:
    """As parse, and the size each AV1 sequence header in the coded data declares."""
    found = read(data, cap)
    coded, agree = coded_sizes(found, cap)
    width, height = _largest(found.sizes + coded)
    if not agree:
        raise SizeMismatch(width, height, found.frames)
    return width, height, found.frames


def _largest(sizes: list[tuple[int, int]]) -> tuple[int, int]:
    return max((w for w, _ in sizes), default=0), max((h for _, h in sizes), default=0)
