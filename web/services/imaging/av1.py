"""AV1 coded data: the frame size every sequence header declares (AV1 specification 5.3, 5.5).

libavif hands an item's or sample's data to dav1d or libaom whole, and they size the picture
from each sequence header OBU they meet, wherever it is: so every OBU is walked, of any type,
to the end of the data, each step a whole OBU (linear, at most MAX_OBUS of them in a file).
"""

from __future__ import annotations

from web.services.imaging.types import rejected

# OBUs walked in a whole file. A still item holds 2 to 5 (temporal delimiter, sequence header,
# metadata, frame), a sample of a sequence as many, and an AVIF holds at most 1,000 items or
# 301 samples a track: 20,000 is far past any real file, and walks in about 20 ms.
MAX_OBUS = 20_000
# Sequence headers read in a whole file: one an item, or one a key frame of a track (a colour
# and an alpha track of 301 frames make 602). Each costs up to ~200 field reads.
MAX_SEQUENCE_HEADERS = 1_024
_OBU_SEQUENCE_HEADER = 1


class Budget:
    """The OBUs and sequence headers one file may still make us walk."""

    def __init__(self) -> None:
        self.obus, self.headers = MAX_OBUS, MAX_SEQUENCE_HEADERS

    def spend(self, header: bool) -> None:
        self.obus -= 1
        self.headers -= header
        if self.obus < 0 or self.headers < 0:
            raise rejected("too_complex")


def sequence_sizes(data: bytes, pos: int, end: int, budget: Budget) -> list[tuple[int, int]]:
    """(max_frame_width, max_frame_height) of every sequence header in data[pos:end], which
    must be whole OBUs: one that runs past end, or sets the forbidden bit, is corrupt."""
    sizes = []
    while pos < end:
        header = data[pos]
        kind, extension, has_size = (header >> 3) & 15, (header >> 2) & 1, (header >> 1) & 1
        if header & 0x80:
            raise rejected("corrupt")
        budget.spend(kind == _OBU_SEQUENCE_HEADER)
        pos += 1 + extension
        if pos > end:
            raise rejected("corrupt")
        size = end - pos
        if has_size:
            size, pos = _leb128(data, pos, end)
        if pos + size > end:
            raise rejected("corrupt")
        if kind == _OBU_SEQUENCE_HEADER:
            sizes.append(_sequence_header_size(_Bits(data, pos, pos + size)))
        pos += size
    return sizes


def _sequence_header_size(bits: _Bits) -> tuple[int, int]:
    """Section 5.5.1, up to max_frame_height_minus_1."""
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
    """Big-endian bits of data[pos:end]; reading past end is corrupt."""

    def __init__(self, data: bytes, pos: int, end: int) -> None:
        self.data, self.bit, self.end = data, pos * 8, end * 8

    def read(self, count: int) -> int:
        stop = self.bit + count
        if stop > self.end:
            raise rejected("corrupt")
        first, last = self.bit >> 3, (stop + 7) >> 3
        chunk = int.from_bytes(self.data[first:last], "big")
        self.bit = stop
        return (chunk >> (last * 8 - stop)) & ((1 << count) - 1)

    def uvlc(self) -> int:
        zeros = 0
        while not self.read(1):
            zeros += 1
            if zeros >= 32:
                return (1 << 32) - 1
        return self.read(zeros) + (1 << zeros) - 1


def _leb128(data: bytes, pos: int, end: int) -> tuple[int, int]:
    value = 0
    for index in range(8):
        if pos + index >= end:
            raise rejected("corrupt")
        byte = data[pos + index]
        value |= (byte & 0x7F) << (7 * index)
        if not byte & 0x80:
            return value, pos + index + 1
    raise rejected("corrupt")
