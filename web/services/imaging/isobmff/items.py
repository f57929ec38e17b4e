"""What a HEIF or AVIF file's boxes say, read in one pass over the tree: every size declared
(`ispe`, each track's visual sample entry), the longest track's frames, and what each item
(`iinf`, `iloc`, `ipma`) and track (`stbl`) is made of, from where the decoders look for it.
Items are bounded by libheif's own limits (MAX_ITEMS, MAX_EXTENTS)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from web.services.imaging.isobmff.boxes import Box, Reader, ancestor, box_uint, path, tree
from web.services.imaging.types import rejected

# libheif's own defaults (heif_security_limits): files past them it refuses anyway.
MAX_ITEMS = 1_000
MAX_EXTENTS = 32
_VISUAL_ENTRIES = frozenset({b"av01", b"hvc1", b"hev1", b"avc1"})
# Where the boxes read for items and tracks must be, as the decoders look for them.
_META = (b"meta",)
_IPRP = (b"meta", b"iprp")
_STBL = (b"moov", b"trak", b"mdia", b"minf", b"stbl")
_UNIQUE = frozenset({b"iloc", b"iinf", b"idat", b"ipco"})  # at most one each, as libavif wants


@dataclass(slots=True)
class Item:
    kind: bytes = b""
    method: int = -1  # construction method; -1 while `iloc` has not placed the item
    extents: list[tuple[int, int]] = field(default_factory=list)  # offset, length (0: to end)
    properties: list[int] = field(default_factory=list)  # 1-based indices into `ipco`


@dataclass(slots=True)
class File:
    data: bytes
    boxes: list[Box]
    sizes: list[tuple[int, int]] = field(default_factory=list)
    frames: int = 1
    items: dict[int, Item] = field(default_factory=dict)
    ispe: dict[int, tuple[int, int]] = field(default_factory=dict)  # by `ipco` index
    tracks: dict[int, dict[bytes, Box]] = field(default_factory=dict)  # by `trak` index
    idat: Box | None = None
    unique: set[bytes] = field(default_factory=set)  # kinds of _UNIQUE seen


def read(data: bytes, cap: int) -> File:
    found = File(data, tree(data))
    ordinals: dict[int, int] = {}  # children seen so far, by parent
    for box in found.boxes:
        ordinals[box.parent] = ordinal = ordinals.get(box.parent, 0) + 1
        where = path(found.boxes, box)
        if box.kind == b"ispe":  # full box, then width and height
            found.sizes.append((box_uint(data, box, 4, 4), box_uint(data, box, 8, 4)))
            if where == (*_IPRP, b"ipco"):
                found.ispe[ordinal] = found.sizes[-1]
        elif box.kind == b"stsd":  # full box, entry count, then the first sample entry
            found.sizes.append(_sample_entry_size(data, box.body + 8, box.end))
        elif box.kind == b"stsz":  # full box, sample size, sample count
            found.frames = max(found.frames, min(box_uint(data, box, 8, 4), cap))
        _place(found, box, where)
    return found


def _place(found: File, box: Box, where: tuple[bytes, ...]) -> None:
    """Keeps what items and tracks are made of, from where the decoders look for it."""
    kind = box.kind
    if where in (_META, _IPRP) and kind in _UNIQUE:
        if kind in found.unique:
            raise rejected("corrupt")  # a second one: decoders would disagree on which counts
        found.unique.add(kind)
    if where == _META and kind == b"iloc":
        _iloc(found, box)
    elif where == _META and kind == b"idat":
        found.idat = box
    elif where == (*_META, b"iinf") and kind == b"infe":
        _infe(found, box)
    elif where == _IPRP and kind == b"ipma":
        _ipma(found, box)
    elif where == _STBL and kind in (b"stsd", b"stsz", b"stsc", b"stco", b"co64"):
        trak = ancestor(found.boxes, box, len(_STBL) - 1)  # stbl, minf, mdia, then trak
        found.tracks.setdefault(trak, {}).setdefault(kind, box)


def _iloc(found: File, box: Box) -> None:
    """Where each item's data lies. The box must hold all it declares: zero-width offset and
    length fields still cost a byte an extent, so a small box cannot declare millions."""
    read = Reader(found.data, box)
    version, _flags, sizes, more = read.uint(1), read.uint(3), read.uint(1), read.uint(1)
    offset_size, length_size, base_size = sizes >> 4, sizes & 15, more >> 4
    index_size = more & 15 if version else 0
    if version > 2 or {offset_size, length_size, base_size, index_size} - {0, 4, 8}:
        raise rejected("corrupt")
    count, wide = read.uint(4 if version == 2 else 2), version == 2
    extent_cost = max(1, index_size + offset_size + length_size)
    if count > MAX_ITEMS:
        raise rejected("too_complex")
    for _ in range(count):
        item = found.items.setdefault(read.uint(4 if wide else 2), Item())
        if item.method >= 0:
            raise rejected("corrupt")  # placed twice
        item.method = read.uint(2) & 15 if version else 0
        read.uint(2)  # data_reference_index
        base, extents = read.uint(base_size), read.uint(2)
        if extents > MAX_EXTENTS:
            raise rejected("too_complex")
        if read.pos + extents * extent_cost > read.end:
            raise rejected("corrupt")
        for _ in range(extents):
            read.uint(index_size)
            item.extents.append((base + read.uint(offset_size), read.uint(length_size)))


def _infe(found: File, box: Box) -> None:
    """An item's type (versions 2 and 3; earlier ones have none)."""
    read = Reader(found.data, box)
    version = read.uint(4) >> 24
    if version >= 2:
        item_id = read.uint(4 if version == 3 else 2)
        read.uint(2)  # item_protection_index
        if item_id not in found.items and len(found.items) >= MAX_ITEMS:
            raise rejected("too_complex")
        found.items.setdefault(item_id, Item()).kind = found.data[read.pos : read.pos + 4]


def _ipma(found: File, box: Box) -> None:
    """Which `ipco` properties each item has (1-based; 0 is none)."""
    read = Reader(found.data, box)
    version_flags = read.uint(4)
    wide_id, wide_index = version_flags >> 24 >= 1, version_flags & 1
    for _ in range(read.uint(4)):
        item_id = read.uint(4 if wide_id else 2)
        if item_id not in found.items and len(found.items) >= MAX_ITEMS:
            raise rejected("too_complex")
        item = found.items.setdefault(item_id, Item())
        for _ in range(read.uint(1)):
            item.properties.append(read.uint(2) & 0x7FFF if wide_index else read.uint(1) & 0x7F)


def sample_entry_kind(data: bytes, stsd: Box | None) -> bytes:
    return data[stsd.body + 12 : stsd.body + 16] if stsd else b""


def _sample_entry_size(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """A VisualSampleEntry: box header, 6 reserved, data reference index, 16 pre-defined."""
    if pos + 36 > end:
        raise rejected("corrupt")
    if data[pos + 4 : pos + 8] not in _VISUAL_ENTRIES:
        return 0, 0
    w, h = struct.unpack(">HH", data[pos + 32 : pos + 36])
    return int(w), int(h)
