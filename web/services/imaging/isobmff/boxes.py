"""The box tree of an ISOBMFF file (ISO/IEC 14496-12), walked once without recursion under
two bounds (MAX_DEPTH, MAX_BOXES), and the fields of a box read without reading past it."""

from __future__ import annotations

import struct
from typing import NamedTuple

from web.services.imaging.types import rejected

# Boxes in boxes: real files nest 6 deep (moov/trak/mdia/minf/stbl/stsd); past 32, refused.
MAX_DEPTH = 32
# Boxes in a file (a whole `mdat` is one): a 1,000-item HEIC has about 2,500.
MAX_BOXES = 10_000
# Boxes whose children are read, and the bytes before the first: `meta` is a full box; `iinf`
# a full box and its entry count (2 bytes in version 0, 4 after: see _first_child).
_CONTAINERS = {b"meta": 4, b"iprp": 0, b"ipco": 0, b"moov": 0, b"trak": 0, b"mdia": 0}
_CONTAINERS |= {b"minf": 0, b"stbl": 0, b"iinf": 6}
_BOX = struct.Struct(">I4s")


class Box(NamedTuple):
    kind: bytes
    body: int  # after the header
    end: int
    parent: int  # the enclosing box's index in the walk, -1 at the top


def tree(data: bytes) -> list[Box]:
    """Every box, depth first: one pass with a stack of open containers, no recursion."""
    boxes: list[Box] = []
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


def _box_at(data: bytes, pos: int, end: int, parent: int) -> Box:
    size, kind = _BOX.unpack_from(data, pos)
    body = pos + 8
    if size == 1:  # a 64-bit size follows the type
        size, body = uint(data, body, 8), body + 8
    elif size == 0:  # to the end of the enclosing box
        size = end - pos
    if size < body - pos or pos + size > end:
        raise rejected("corrupt")  # truncated, or a box claiming more than its parent
    return Box(kind, body, pos + size, parent)


def _first_child(data: bytes, box: Box) -> int | None:
    skip = _CONTAINERS.get(box.kind)
    if skip is None:
        return None
    if box.kind == b"iinf" and box.body < box.end and data[box.body]:
        skip = 8  # version 1 and later: a 32-bit entry count
    return box.body + skip


def ancestor(boxes: list[Box], box: Box, levels: int) -> int:
    index = box.parent
    for _ in range(levels):
        index = boxes[index].parent
    return index


def path(boxes: list[Box], box: Box) -> tuple[bytes, ...]:
    """The kinds of the boxes box is in, from the top (at most MAX_DEPTH)."""
    kinds = []
    while box.parent >= 0:
        box = boxes[box.parent]
        kinds.append(box.kind)
    return tuple(reversed(kinds))


class Reader:
    """The fields of one box's body, in order; reading past its end is corrupt."""

    def __init__(self, data: bytes, box: Box) -> None:
        self.data, self.pos, self.end = data, box.body, box.end

    def uint(self, size: int) -> int:
        stop = self.pos + size
        if stop > self.end:
            raise rejected("corrupt")
        value = int.from_bytes(self.data[self.pos : stop], "big")
        self.pos = stop
        return value


def box_uint(data: bytes, box: Box, offset: int, size: int) -> int:
    """The unsigned field at offset in box's body; past its end is corrupt."""
    if box.body + offset + size > box.end:
        raise rejected("corrupt")
    return uint(data, box.body + offset, size)


def uint(data: bytes, pos: int, size: int) -> int:
    if pos + size > len(data):
        raise rejected("corrupt")
    return int.from_bytes(data[pos : pos + size], "big")
