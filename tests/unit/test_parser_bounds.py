"""The header parsers' bounds (issue 21): each crafted file of the issue refused before any
decoder sees it, in milliseconds, and files just inside each bound still read."""

from __future__ import annotations

import struct
import time

import pytest

from tests import hostile, images
from tests.unit.test_imaging import assert_refused, refusal
from web.services.imaging import Limits, decode, isobmff, process
from web.services.imaging.header import (
    MAX_GIF_BLOCKS,
    MAX_JPEG_SCANS,
    MAX_PNG_CHUNKS,
    MAX_WEBP_CHUNKS,
    read_header,
)
from web.services.imaging.types import REFUSALS

# Every refusal below is a header walk of at most ~10,000 steps: a second is 10x slack on a
# loaded machine, and 100x under what the quadratic or unbounded walks took.
FAST = 1.0


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("the header should have refused this before decoding")

    monkeypatch.setattr(decode, "open_image", refuse)


def refused_quickly(data: bytes, code: str, status: int = 422) -> None:
    start = time.perf_counter()
    exc = refusal(data)
    elapsed = time.perf_counter() - start
    assert_refused(exc, status, code)
    assert elapsed < FAST, f"{elapsed:.2f} s"


def test_too_complex_is_a_422_that_names_what_is_refused() -> None:
    status, message = REFUSALS["too_complex"]
    assert status == 422
    assert "too many layers, parts or scans" in message


# --- AVIF: the coded size ------------------------------------------------------------------


def test_avif_sequence_header_behind_4200_bytes_of_padding_is_found(no_decoding: None) -> None:
    data = hostile.avif_padded_sequence_header()  # ispe 64x64, coded 16000x16000
    assert b"ispe" in data and len(data) < 11_000
    refused_quickly(data, "too_many_pixels")


def test_avif_coded_size_within_limits_but_not_its_ispe_is_422_corrupt(
    no_decoding: None,
) -> None:
    refused_quickly(hostile.avif_padded_sequence_header(coded=(2000, 2000)), "corrupt")


def test_avif_item_without_a_sequence_header_is_422_corrupt(no_decoding: None) -> None:
    refused_quickly(hostile.avif_without_sequence_header(), "corrupt")


def test_avif_sequence_header_after_many_obus_is_read_and_the_file_accepted() -> None:
    data = hostile.avif_many_obus(1_000, size=(64, 48))
    assert (read_header(data, Limits()).width, read_header(data, Limits()).height) == (64, 48)
    assert process(data).source_width == 64


def test_avif_of_more_obus_than_any_real_file_is_422_too_complex(no_decoding: None) -> None:
    refused_quickly(hostile.avif_many_obus(100_000), "too_complex")


# --- AVIF and HEIF: iloc -------------------------------------------------------------------


def test_avif_iloc_of_a_thousand_items_of_65535_extents_is_422_too_complex(
    no_decoding: None,
) -> None:
    data = hostile.avif_iloc_bomb()
    assert len(data) < 7_000
    refused_quickly(data, "too_complex")


def test_iloc_of_more_items_than_libheif_takes_is_422_too_complex(no_decoding: None) -> None:
    refused_quickly(hostile.avif_iloc_bomb(items=isobmff.MAX_ITEMS + 1, extents=1), "too_complex")


def test_iloc_item_of_more_extents_than_libheif_takes_is_422_too_complex(
    no_decoding: None,
) -> None:
    extents = isobmff.MAX_EXTENTS + 1
    refused_quickly(hostile.avif_iloc_bomb(items=1, extents=extents), "too_complex")


def test_iloc_zero_width_extents_must_fit_in_the_box(no_decoding: None) -> None:
    """32 extents of no bytes each, in an entry of 6: the box is too small for them."""
    refused_quickly(hostile.avif_iloc_bomb(items=10, extents=isobmff.MAX_EXTENTS), "corrupt")


def test_iloc_field_widths_other_than_0_4_8_are_422_corrupt(no_decoding: None) -> None:
    data = bytearray(images.avif())
    data[images.isobmff_box(bytes(data), b"iloc") + 12] = 0x33  # 3-byte offset and length
    refused_quickly(bytes(data), "corrupt")


# --- ISOBMFF: nesting and box counts -------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [hostile.heif_nested(1_500), hostile.avif_nested(5_000)],
    ids=["heif_1500_deep", "avif_5000_deep"],
)
def test_boxes_nested_thousands_deep_are_422_too_complex(data: bytes, no_decoding: None) -> None:
    refused_quickly(data, "too_complex")


def test_heif_nested_900_deep_in_2_mb_is_refused_in_milliseconds(no_decoding: None) -> None:
    data = hostile.heif_nested(900, siblings=290)
    assert len(data) > 2_000_000
    refused_quickly(data, "too_complex")


def test_boxes_32_deep_are_read() -> None:
    header = read_header(hostile.heif_nested(isobmff.MAX_DEPTH - 1), Limits())
    assert (header.width, header.height) == (64, 64)
    assert_refused(refusal(hostile.heif_nested(isobmff.MAX_DEPTH)), 422, "too_complex")


def test_more_boxes_than_any_real_file_is_422_too_complex(no_decoding: None) -> None:
    refused_quickly(hostile.isobmff_many_boxes(isobmff.MAX_BOXES), "too_complex")


def test_a_second_iloc_is_422_corrupt(no_decoding: None) -> None:
    data = images.avif()
    at = images.isobmff_box(data, b"iloc")
    (size,) = struct.unpack(">I", data[at : at + 4])
    iloc = data[at : at + size]
    meta = images.isobmff_box(data, b"meta")
    doubled = data[: at + size] + iloc + data[at + size :]
    out = bytearray(doubled)
    out[meta : meta + 4] = struct.pack(">I", struct.unpack(">I", data[meta : meta + 4])[0] + size)
    refused_quickly(bytes(out), "corrupt")


# --- JPEG: scans ---------------------------------------------------------------------------


def test_progressive_jpeg_of_400_scans_is_422_too_complex(no_decoding: None) -> None:
    refused_quickly(hostile.jpeg_many_scans(400, size=(512, 512)), "too_complex")


def test_jpeg_of_100_scans_is_read() -> None:
    data = hostile.jpeg_many_scans(MAX_JPEG_SCANS, size=(64, 64))
    assert read_header(data, Limits()).width == 64
    assert_refused(
        refusal(hostile.jpeg_many_scans(MAX_JPEG_SCANS + 1, size=(64, 64))), 422, "too_complex"
    )


def test_progressive_and_restart_jpegs_are_accepted() -> None:
    for options in ({"progressive": True}, {"restart_marker_blocks": 1}):
        data = images.jpeg((640, 480), **options)  # type: ignore[arg-type]
        assert process(data).source_width == 640


def test_jpeg_of_thousands_of_segments_is_422_too_complex(no_decoding: None) -> None:
    refused_quickly(hostile.jpeg_many_segments(100_000), "too_complex")


def test_jpeg_header_walk_of_a_12_mp_photo_takes_milliseconds() -> None:
    data = images.encode(images.Image.effect_noise((4000, 3000), 60), "JPEG", quality=90)
    best = min(_timed(lambda: read_header(data, Limits())) for _ in range(3))
    assert best < 0.1, f"{best * 1000:.1f} ms for {len(data) / 1e6:.1f} MB"


# --- PNG, GIF, WebP ------------------------------------------------------------------------


def test_png_of_more_chunks_than_any_real_file_is_422_too_complex(no_decoding: None) -> None:
    refused_quickly(hostile.png_many_chunks(100_000), "too_complex")


def test_png_of_many_chunks_within_the_bound_is_accepted() -> None:
    assert process(hostile.png_many_chunks(MAX_PNG_CHUNKS - 10)).source_width == 64


def test_gif_of_too_many_extension_blocks_is_422_too_complex(no_decoding: None) -> None:
    refused_quickly(hostile.gif_many_extensions(MAX_GIF_BLOCKS), "too_complex")


def test_gif_of_too_many_sub_blocks_is_422_too_complex(no_decoding: None) -> None:
    refused_quickly(hostile.gif_many_sub_blocks(MAX_GIF_BLOCKS * 2), "too_complex")


def test_gif_of_many_blocks_within_the_bound_is_accepted() -> None:
    assert process(hostile.gif_many_extensions(1_000)).source_width == 64


def test_webp_of_more_chunks_than_any_real_file_is_422_too_complex(no_decoding: None) -> None:
    refused_quickly(hostile.webp_many_chunks(100_000), "too_complex")


def test_webp_of_many_chunks_within_the_bound_is_read() -> None:
    header = read_header(hostile.webp_many_chunks(MAX_WEBP_CHUNKS - 10), Limits())
    assert (header.width, header.height) == (64, 48)


def _timed(call: object) -> float:
    start = time.perf_counter()
    call()  # type: ignore[operator]
    return time.perf_counter() - start
