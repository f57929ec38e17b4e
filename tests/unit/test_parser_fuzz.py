"""Property tests of the header parsers: any bytes end in a header or an ImageRejected, in time
linear in their length and memory bounded by it."""

from __future__ import annotations

import contextlib
import os
import struct
import time
import tracemalloc
from collections.abc import Callable
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import hostile, images
from web.services.imaging import ImageRejected, Limits, isobmff, sniff_format
from web.services.imaging.header import SNIFF_BYTES, read_header

# FUZZ_EXAMPLES=5000 for a longer run; 200 keeps the file under 20 s.
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
CAP = Limits().max_frames + 1
MAGIC = (
    b"\xff\xd8\xff",
    b"\x89PNG\r\n\x1a\n",
    b"GIF89a",
    b"RIFF\0\0\0\0WEBP",
    hostile.ftyp(b"avif"),
    hostile.ftyp(b"heic"),
)


@cache
def seeds() -> tuple[bytes, ...]:
    """Small valid files of every format, made once."""
    return (
        images.jpeg((24, 16)),
        images.jpeg((24, 16), progressive=True),
        images.png((8, 8)),
        images.animated_gif(size=(8, 8)),
        images.animated_webp(size=(8, 8)),
        images.webp((8, 8)),
        images.heic(images.solid((16, 16))),
        images.avif(images.solid((16, 16))),
        images.avif_sequence(frames=2, size=(16, 16)),
    )


def only_refused(data: bytes) -> None:
    """read_header returns a header or refuses; nothing else escapes it."""
    with contextlib.suppress(ImageRejected):
        read_header(data, Limits())


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A seed file with a few byte flips, a cut, a slice copied elsewhere, or a 32-bit
    field (a length, most likely) set to an edge value."""
    data = bytearray(draw(st.sampled_from(seeds())))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data) - 1))
        how = draw(st.sampled_from(["flip", "cut", "copy", "field"]))
        if how == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif how == "cut":
            del data[at:]
        elif how == "copy":
            length = draw(st.integers(1, 64))
            data[at:at] = data[draw(st.integers(0, len(data) - 1)) :][:length]
        else:
            value = draw(st.sampled_from([0, 1, 7, 8, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF]))
            data[at : at + 4] = struct.pack(">I", value)
        if not data:
            break
    return bytes(data)


@FUZZ
@given(st.binary(max_size=512))
def test_arbitrary_bytes_are_only_ever_refused(data: bytes) -> None:
    only_refused(data)
    with contextlib.suppress(ImageRejected):
        sniff_format(data[:SNIFF_BYTES])


@FUZZ
@given(st.sampled_from(MAGIC), st.binary(max_size=1024))
def test_bytes_after_each_magic_are_only_ever_refused(magic: bytes, tail: bytes) -> None:
    only_refused(magic + tail)


@st.composite
def boxes(draw: st.DrawFn, depth: int = 0) -> bytes:
    """A random ISOBMFF tree of the boxes the parser reads, with random bodies."""
    kinds = [b"meta", b"iprp", b"ipco", b"ispe", b"iloc", b"iinf", b"infe", b"ipma", b"idat"]
    kinds += [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd", b"stsz", b"stsc", b"stco"]
    out = b""
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(kinds))
        body = draw(st.binary(max_size=48))
        if depth < 4 and draw(st.booleans()):
            body = body[:4] + draw(boxes(depth + 1))
        out += hostile.box(kind, body)
    return out


@FUZZ
@given(st.sampled_from([b"avif", b"heic", b"avis"]), boxes())
def test_random_box_trees_are_only_ever_refused(brand: bytes, tree: bytes) -> None:
    data = hostile.ftyp(brand) + tree
    only_refused(data)
    for parse in (isobmff.parse, isobmff.parse_avif):
        with contextlib.suppress(ImageRejected):
            parse(data, CAP)


@FUZZ
@given(mutated())
def test_mutations_of_valid_files_are_only_ever_refused(data: bytes) -> None:
    only_refused(data)


# --- linear time and bounded memory --------------------------------------------------------

# Each family makes a file of n of its smallest structure. 100 times n may cost at most
# 100 times as much, with slack for a loaded machine (the quadratic walk this replaced
# cost 10,000 times as much); most are refused at a bound long before.
FAMILIES: dict[str, Callable[[int], bytes]] = {
    "nested boxes": hostile.heif_nested,
    "top-level boxes": hostile.isobmff_many_boxes,
    "iloc extents": lambda n: hostile.avif_iloc_bomb(items=n // 100, extents=100),
    "iloc items": lambda n: hostile.avif_iloc_bomb(items=n, extents=1),
    "OBUs": hostile.avif_many_obus,
    "JPEG scans": lambda n: hostile.jpeg_many_scans(n, size=(16, 16)),
    "JPEG segments": hostile.jpeg_many_segments,
    "GIF extensions": hostile.gif_many_extensions,
    "GIF sub-blocks": hostile.gif_many_sub_blocks,
    "PNG chunks": hostile.png_many_chunks,
    "WebP chunks": hostile.webp_many_chunks,
}
SLACK = 5


def best_time(data: bytes, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        only_refused(data)
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize("family", FAMILIES)
def test_parsing_is_linear_in_the_input(family: str) -> None:
    small, large = FAMILIES[family](1_000), FAMILIES[family](100_000)
    # A floor of 1 ms for the small one: below it, timer noise is most of the ratio.
    small_time = max(best_time(small, 5), 1e-3)
    large_time = best_time(large, 3)
    assert large_time <= 100 * SLACK * small_time, (
        f"{family}: {small_time * 1000:.2f} ms for 1,000, {large_time * 1000:.1f} ms for 100,000"
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_parsing_allocates_a_bounded_amount(family: str) -> None:
    """The parsers keep at most a list of boxes (10,000) or an item's joined extents (at most
    twice the file): 4 MB is far above what any of these need, far below a copy a step."""
    data = FAMILIES[family](100_000)
    tracemalloc.start()
    try:
        only_refused(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20, f"{family}: {peak / 2**20:.1f} MB"
