"""The sizes an AVIF's coded data declares: the AV1 sequence headers in every AV1 item and in
the samples of every AV1 track that would be played (libavif sizes its buffers from them, not
from `ispe`), and each grid's output size. Each byte is walked about once, under a budget."""

from __future__ import annotations

from collections.abc import Iterator

from web.services.imaging import av1
from web.services.imaging.isobmff.boxes import Box, box_uint, uint
from web.services.imaging.isobmff.items import File, Item, sample_entry_kind
from web.services.imaging.types import rejected


def coded_sizes(found: File, cap: int) -> tuple[list[tuple[int, int]], bool]:
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
        if sample_entry_kind(found.data, track.get(b"stsd")) != b"av01":
            continue
        for number, (start, length) in enumerate(_samples(found.data, track, cap)):
            coded = work.sequence_sizes(found.data, start, work.spend(start, length))
            if number == 0 and not coded:
                raise rejected("corrupt")  # the first sample is a key frame: it must have one
            sizes += coded
    return sizes, agree


class _Work:
    """The bytes and OBUs one file may still make coded_sizes walk."""

    def __init__(self, found: File, byte_budget: int) -> None:
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

    def item_data(self, item: Item) -> tuple[bytes, int, int]:
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


def _samples(data: bytes, track: dict[bytes, Box], cap: int) -> Iterator[tuple[int, int]]:
    """Start and length of the first samples of a track, at most cap: one step a sample."""
    sizes, runs = track.get(b"stsz"), track.get(b"stsc")
    chunks = track.get(b"stco") or track.get(b"co64")
    if not (sizes and runs and chunks):
        return  # libavif refuses a track without them
    wide = 8 if chunks.kind == b"co64" else 4
    fixed, count = box_uint(data, sizes, 4, 4), min(box_uint(data, sizes, 8, 4), cap)
    chunk_count, run_count = box_uint(data, chunks, 4, 4), box_uint(data, runs, 4, 4)
    sample, run = 0, 0
    for chunk in range(1, chunk_count + 1):
        # Runs of chunks with as many samples each, by first chunk: strictly increasing, so
        # this steps at most once a chunk.
        while run + 1 < run_count and (following := _first_chunk(data, runs, run + 1)) <= chunk:
            if following <= _first_chunk(data, runs, run):
                raise rejected("corrupt")
            run += 1
        per_chunk = box_uint(data, runs, 12 + 12 * run, 4) if run_count else 0
        if not per_chunk or _first_chunk(data, runs, run) > chunk:
            raise rejected("corrupt")
        start = box_uint(data, chunks, 8 + wide * (chunk - 1), wide)
        for _ in range(per_chunk):
            if sample >= count:
                return
            length = fixed or box_uint(data, sizes, 12 + 4 * sample, 4)
            yield start, length
            start, sample = start + length, sample + 1


def _first_chunk(data: bytes, stsc: Box, run: int) -> int:
    """The first chunk of a run in `stsc` (full box, entry count, then 12 bytes a run)."""
    return box_uint(data, stsc, 8 + 12 * run, 4)


def _grid_size(data: bytes, start: int, end: int) -> tuple[int, int]:
    """A grid's output size: version, flags (bit 0: 32-bit sizes), rows, columns, then it."""
    if start + 4 > end:
        raise rejected("corrupt")
    width = 4 if data[start + 1] & 1 else 2
    if start + 4 + 2 * width > end:
        raise rejected("corrupt")
    return uint(data, start + 4, width), uint(data, start + 4 + width, width)
