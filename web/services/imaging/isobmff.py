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

The tree is walked once, without recursion, in a bounded number of steps; see MAX_*.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from web.services.imaging import av1
from web.services.imaging.types import ImageRejected, rejected

# Major or compatible brands: a file is AVIF when it names an AV1 brand, else HEIF when it
# names a HEVC (or generic image) one. `mif1`/`msf1` alone say "some image": libheif decides.
AVIF_BRANDS = frozenset({b"avif", b"avis"})
HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
)
# Boxes in boxes: real files nest 6 deep (moov/trak/mdia/minf/stbl/stsd); past 32, refused.
MAX_DEPTH = 32
# Boxes in a file (a whole `mdat` is one): a 1,000-item HEIC has about 2,500.
MAX_BOXES = 10_000
# libheif's own defaults (heif_security_limits): files past them it refuses anyway.
MAX_ITEMS = 1_000
MAX_EXTENTS = 32
# Boxes whose children are read, and the bytes before the first: `meta` is a full box; `iinf`
# a full box and its entry count (2 bytes in version 0, 4 after: see _first_child).
_CONTAINERS = {b"meta": 4, b"iprp": 0, b"ipco": 0, b"moov": 0, b"trak": 0, b"mdia": 0}
_CONTAINERS |= {b"minf": 0, b"stbl": 0, b"iinf": 6}
_BOX = struct.Struct(">I4s")
_VISUAL_ENTRIES = frozenset({b"av01", b"hvc1", b"hev1", b"avc1"})
# Where the boxes read for items and tracks must be, as the decoders look for them.
_META = (b"meta",)
_IPRP = (b"meta", b"iprp")
_STBL = (b"moov", b"trak", b"mdia", b"minf", b"stbl")
_UNIQUE = frozenset({b"iloc", b"iinf", b"idat", b"ipco"})  # at most one each, as libavif wants


class SizeMismatch(ImageRejected):
    """An AV1 item whose sequence header and `ispe` disagree: corrupt, unless its largest
    size is over the limits, which is the clearer refusal (header.read_header decides)."""

    def __init__(self, width: int, height: int, frames: int) -> None:
        corrupt = rejected("corrupt")
        super().__init__(corrupt.status, corrupt.code, corrupt.message)
        self.width, self.height, self.frames = width, height, frames


class _Box(NamedTuple):
    kind: bytes
    body: int  # after the header
    end: int
    parent: int  # the enclosing box's index in the walk, -1 at the top


@dataclass(slots=True)
class _Item:
    kind: bytes = b""
    method: int = -1  # construction method; -1 while `iloc` has not placed the item
    extents: list[tuple[int, int]] = field(default_factory=list)  # offset, length (0: to end)
    properties: list[int] = field(default_factory=list)  # 1-based indices into `ipco`


@dataclass(slots=True)
class _File:
    data: bytes
    boxes: list[_Box]
    sizes: list[tuple[int, int]] = field(default_factory=list)
    frames: int = 1
    items: dict[int, _Item] = field(default_factory=dict)
    ispe: dict[int, tuple[int, int]] = field(default_factory=dict)  # by `ipco` index
    tracks: dict[int, dict[bytes, _Box]] = field(default_factory=dict)  # by `trak` index
    idat: _Box | None = None
    unique: set[bytes] = field(default_factory=set)  # kinds of _UNIQUE seen


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
    found = _read(data, cap)
    return *_largest(found.sizes), found.frames


def parse_avif(data: bytes, cap: int) -> tuple[int, int, int]:
    """As parse, and the size each AV1 sequence header in the coded data declares."""
    found = _read(data, cap)
    coded, agree = _coded_sizes(found, cap)
    width, height = _largest(found.sizes + coded)
    if not agree:
        raise SizeMismatch(width, height, found.frames)
    return width, height, found.frames


def _largest(sizes: list[tuple[int, int]]) -> tuple[int, int]:
    return max((w for w, _ in sizes), default=0), max((h for _, h in sizes), default=0)


def _read(data: bytes, cap: int) -> _File:
    found = _File(data, _tree(data))
    ordinals: dict[int, int] = {}  # children seen so far, by parent
    for box in found.boxes:
        ordinals[box.parent] = ordinal = ordinals.get(box.parent, 0) + 1
        path = _path(found.boxes, box)
        if box.kind == b"ispe":  # full box, then width and height
            found.sizes.append((_field(data, box, 4, 4), _field(data, box, 8, 4)))
            if path == (*_IPRP, b"ipco"):
                found.ispe[ordinal] = found.sizes[-1]
        elif box.kind == b"stsd":  # full box, entry count, then the first sample entry
            found.sizes.append(_sample_entry_size(data, box.body + 8, box.end))
        elif box.kind == b"stsz":  # full box, sample size, sample count
            found.frames = max(found.frames, min(_field(data, box, 8, 4), cap))
        _place(found, box, path)
    return found


def _place(found: _File, box: _Box, path: tuple[bytes, ...]) -> None:
    """Keeps what items and tracks are made of, from where the decoders look for it."""
    kind = box.kind
    if path in (_META, _IPRP) and kind in _UNIQUE:
        if kind in found.unique:
            raise rejected("corrupt")  # a second one: decoders would disagree on which counts
        found.unique.add(kind)
    if path == _META and kind == b"iloc":
        _iloc(found, box)
    elif path == _META and kind == b"idat":
        found.idat = box
    elif path == (*_META, b"iinf") and kind == b"infe":
        _infe(found, box)
    elif path == _IPRP and kind == b"ipma":
        _ipma(found, box)
    elif path == _STBL and kind in (b"stsd", b"stsz", b"stsc", b"stco", b"co64"):
        trak = _ancestor(found.boxes, box, len(_STBL) - 1)  # stbl, minf, mdia, then trak
        found.tracks.setdefault(trak, {}).setdefault(kind, box)


def _ancestor(boxes: list[_Box], box: _Box, levels: int) -> int:
    index = box.parent
    for _ in range(levels):
        index = boxes[index].parent
    return index


def _path(boxes: list[_Box], box: _Box) -> tuple[bytes, ...]:
    """The kinds of the boxes box is in, from the top (at most MAX_DEPTH)."""
    kinds = []
    while box.parent >= 0:
        box = boxes[box.parent]
        kinds.append(box.kind)
    return tuple(reversed(kinds))


def _tree(data: bytes) -> list[_Box]:
    """Every box, depth first: one pass with a stack of open containers, no recursion."""
    boxes: list[_Box] = []
    stack = [(0, len(data), -1)]  # where the next box of each open container starts
    while stack:
        pos, end, parent = stack.pop()
        if pos + 8 > end:
            continue
        box = _box_at(data, pos, end, parent)
        boxes.append(box)
        stack.append((box.end, end, parent))
        first = _first_child(data, box)
        if len(boxes) > MAX_BOXES or (first is not None and len(stack) > MAX_DEPTH):
            raise rejected("too_complex")
        if first is not None:
            stack.append((first, box.end, len(boxes) - 1))
    return boxes


def _box_at(data: bytes, pos: int, end: int, parent: int) -> _Box:
    size, kind = _BOX.unpack_from(data, pos)
    body = pos + 8
    if size == 1:  # a 64-bit size follows the type
        size, body = _uint(data, body, 8), body + 8
    elif size == 0:  # to the end of the enclosing box
        size = end - pos
    if size < body - pos or pos + size > end:
        raise rejected("corrupt")  # truncated, or a box claiming more than its parent
    return _Box(kind, body, pos + size, parent)


def _first_child(data: bytes, box: _Box) -> int | None:
    skip = _CONTAINERS.get(box.kind)
    if skip is None:
        return None
    if box.kind == b"iinf" and box.body < box.end and data[box.body]:
        skip = 8  # version 1 and later: a 32-bit entry count
    return box.body + skip


class _Reader:
    """The fields of one box's body, in order; reading past its end is corrupt."""

    def __init__(self, data: bytes, box: _Box) -> None:
        self.data, self.pos, self.end = data, box.body, box.end

    def uint(self, size: int) -> int:
        stop = self.pos + size
        if stop > self.end:
            raise rejected("corrupt")
        value = int.from_bytes(self.data[self.pos : stop], "big")
        self.pos = stop
        return value


def _iloc(found: _File, box: _Box) -> None:
    """Where each item's data lies. The box must hold all it declares: zero-width offset and
    length fields still cost a byte an extent, so a small box cannot declare millions."""
    read = _Reader(found.data, box)
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
        item = found.items.setdefault(read.uint(4 if wide else 2), _Item())
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


def _infe(found: _File, box: _Box) -> None:
    """An item's type (versions 2 and 3; earlier ones have none)."""
    read = _Reader(found.data, box)
    version = read.uint(4) >> 24
    if version >= 2:
        item_id = read.uint(4 if version == 3 else 2)
        read.uint(2)  # item_protection_index
        if item_id not in found.items and len(found.items) >= MAX_ITEMS:
            raise rejected("too_complex")
        found.items.setdefault(item_id, _Item()).kind = found.data[read.pos : read.pos + 4]


def _ipma(found: _File, box: _Box) -> None:
    """Which `ipco` properties each item has (1-based; 0 is none)."""
    read = _Reader(found.data, box)
    version_flags = read.uint(4)
    wide_id, wide_index = version_flags >> 24 >= 1, version_flags & 1
    for _ in range(read.uint(4)):
        item_id = read.uint(4 if wide_id else 2)
        if item_id not in found.items and len(found.items) >= MAX_ITEMS:
            raise rejected("too_complex")
        item = found.items.setdefault(item_id, _Item())
        for _ in range(read.uint(1)):
            item.properties.append(read.uint(2) & 0x7FFF if wide_index else read.uint(1) & 0x7F)


def _coded_sizes(found: _File, cap: int) -> tuple[list[tuple[int, int]], bool]:
    """The size of every AV1 sequence header in the items and played samples, and of every
    grid; and whether each item's agree with its `ispe`. Each byte is walked about once: at
    most twice the file (an AVIF sequence's first frame is often both an item and a sample),
    else too_complex."""
    work = _Work(found, 2 * len(found.data))
    sizes, agree = [], True
    for item in found.items.values():
        if item.kind == b"av01":
            coded = work.sequence_sizes(*work.item_data(item))
            if not coded:
                raise rejected("corrupt")  # a key frame without the sequence it starts
            declared = {found.ispe[p] for p in item.properties if p in found.ispe}
            agree = agree and all(size in declared for size in coded if declared)
            sizes += coded
        elif item.kind == b"grid":
            sizes.append(_grid_size(*work.item_data(item)))
    for track in found.tracks.values():
        if _sample_entry_kind(found.data, track.get(b"stsd")) != b"av01":
            continue
        for number, (start, length) in enumerate(_samples(found.data, track, cap)):
            coded = work.sequence_sizes(found.data, start, work.spend(start, length))
            if number == 0 and not coded:
                raise rejected("corrupt")  # the first sample is a key frame: it must have one
            sizes += coded
    return sizes, agree


class _Work:
    """The bytes and OBUs one file may still make _coded_sizes walk."""

    def __init__(self, found: _File, byte_budget: int) -> None:
        self.found, self.bytes, self.obus = found, byte_budget, av1.Budget()

    def spend(self, start: int, length: int) -> int:
        """The end of data[start:start + length], which must lie in the file."""
        if start + length > len(self.found.data):
            raise rejected("corrupt")
        self.bytes -= length
        if self.bytes < 0:
            raise rejected("too_complex")
        return start + length

    def sequence_sizes(self, data: bytes, start: int, end: int) -> list[tuple[int, int]]:
        return av1.sequence_sizes(data, start, end, self.obus)

    def item_data(self, item: _Item) -> tuple[bytes, int, int]:
        """The buffer, start and end of an item's data: in place for one extent, else its
        extents joined (at most the byte budget, so at most twice the file)."""
        if item.method == 0:
            base, limit = 0, len(self.found.data)
        elif item.method == 1 and self.found.idat:
            base, limit = self.found.idat.body, self.found.idat.end
        else:  # not placed, or placed in another item (method 2): not decodable here
            raise rejected("corrupt")
        spans = []
        for offset, length in item.extents:
            start = base + offset
            end = limit if length == 0 else start + length
            if end > limit:
                raise rejected("corrupt")
            spans.append((start, self.spend(start, end - start)))
        if len(spans) == 1:
            return self.found.data, *spans[0]
        joined = b"".join(self.found.data[start:end] for start, end in spans)
        return joined, 0, len(joined)


def _samples(data: bytes, track: dict[bytes, _Box], cap: int) -> Iterator[tuple[int, int]]:
    """Start and length of the first samples of a track, at most cap: one step a sample."""
    sizes, runs = track.get(b"stsz"), track.get(b"stsc")
    chunks = track.get(b"stco") or track.get(b"co64")
    if not (sizes and runs and chunks):
        return  # libavif refuses a track without them
    wide = 8 if chunks.kind == b"co64" else 4
    fixed, count = _field(data, sizes, 4, 4), min(_field(data, sizes, 8, 4), cap)
    chunk_count, run_count = _field(data, chunks, 4, 4), _field(data, runs, 4, 4)
    sample, run = 0, 0
    for chunk in range(1, chunk_count + 1):
        # Runs of chunks with as many samples each, by first chunk: strictly increasing, so
        # this steps at most once a chunk.
        while run + 1 < run_count and (following := _field(data, runs, 20 + 12 * run, 4)) <= chunk:
            if following <= _field(data, runs, 8 + 12 * run, 4):
                raise rejected("corrupt")
            run += 1
        per_chunk = _field(data, runs, 12 + 12 * run, 4) if run_count else 0
        if not per_chunk or _field(data, runs, 8 + 12 * run, 4) > chunk:
            raise rejected("corrupt")
        start = _field(data, chunks, 8 + wide * (chunk - 1), wide)
        for _ in range(per_chunk):
            if sample >= count:
                return
            length = fixed or _field(data, sizes, 12 + 4 * sample, 4)
            yield start, length
            start, sample = start + length, sample + 1


def _grid_size(data: bytes, start: int, end: int) -> tuple[int, int]:
    """A grid's output size: version, flags (bit 0: 32-bit sizes), rows, columns, then it."""
    if start + 4 > end:
        raise rejected("corrupt")
    width = 4 if data[start + 1] & 1 else 2
    if start + 4 + 2 * width > end:
        raise rejected("corrupt")
    return _uint(data, start + 4, width), _uint(data, start + 4 + width, width)


def _field(data: bytes, box: _Box, offset: int, size: int) -> int:
    """The unsigned field at offset in box's body; past its end is corrupt."""
    if box.body + offset + size > box.end:
        raise rejected("corrupt")
    return _uint(data, box.body + offset, size)


def _uint(data: bytes, pos: int, size: int) -> int:
    if pos + size > len(data):
        raise rejected("corrupt")
    return int.from_bytes(data[pos : pos + size], "big")


def _sample_entry_kind(data: bytes, stsd: _Box | None) -> bytes:
    return data[stsd.body + 12 : stsd.body + 16] if stsd else b""


def _sample_entry_size(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """A VisualSampleEntry: box header, 6 reserved, data reference index, 16 pre-defined."""
    if pos + 36 > end:
        raise rejected("corrupt")
    if data[pos + 4 : pos + 8] not in _VISUAL_ENTRIES:
        return 0, 0
    w, h = struct.unpack(">HH", data[pos + 32 : pos + 36])
    return int(w), int(h)
