"""HEIC/HEIF (pillow-heif) and AVIF (Pillow) uploads: the same rules as the other formats."""

from __future__ import annotations

import io

import pillow_heif
import pytest

from tests import images
from tests.unit.test_imaging import (
    assert_clean,
    assert_refused,
    assert_upright,
    close,
    outputs,
    pixel,
    refusal,
    variant,
)
from web.services.imaging import Limits, decode, process, sniff_format
from web.services.imaging.header import SNIFF_BYTES, read_header

FORMATS = ("HEIF", "AVIF")


def make(fmt: str, **options: object) -> bytes:
    return (images.heic if fmt == "HEIF" else images.avif)(**options)  # type: ignore[arg-type]


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fails the test if any decoder is asked to open the file."""

    def refuse(*args: object) -> None:
        raise AssertionError("the header should have refused this before decoding")

    monkeypatch.setattr(decode, "open_image", refuse)


@pytest.mark.parametrize("fmt", FORMATS)
def test_sniff_format_reads_the_ftyp_brands(fmt: str) -> None:
    assert sniff_format(make(fmt)[:SNIFF_BYTES]) == fmt


def test_ten_bit_heic_brand_heix_is_heif() -> None:
    data = pillow_heif.from_bytes("RGB;16", (8, 8), b"\0\x80" * 3 * 64)
    buf = io.BytesIO()
    data.save(buf)
    assert buf.getvalue()[8:12] == b"heix"
    assert sniff_format(buf.getvalue()[:SNIFF_BYTES]) == "HEIF"


def test_mp4_video_is_415_unsupported_naming_heic_and_avif() -> None:
    exc = refusal(images.magic_of_other_formats()["mp4"])
    assert_refused(exc, 415, "unsupported_format")
    assert "HEIC/HEIF or AVIF" in exc.message


@pytest.mark.parametrize("fmt", FORMATS)
def test_plain_picture_is_processed_into_clean_variants(fmt: str) -> None:
    processed = process(make(fmt))
    assert processed.source_format == fmt
    assert (processed.source_width, processed.source_height) == (64, 48)
    assert not processed.animated and not processed.has_alpha
    assert len(processed.variants) == 14
    for output in processed.variants:
        assert close(pixel(assert_clean(output), 0.5, 0.5), images.RED)


@pytest.mark.parametrize("fmt", FORMATS)
def test_exif_is_not_kept(fmt: str) -> None:
    exif = images.Image.Exif()
    exif[0x010F] = "Apple"  # Make
    data = make(fmt, exif=exif.tobytes())
    assert b"Apple" in data
    processed = process(data)
    assert all(b"Apple" not in out for out in outputs(processed))
    for output in processed.variants:
        assert_clean(output)


@pytest.mark.parametrize("orientation", [2, 3, 6, 8])
@pytest.mark.parametrize("fmt", FORMATS)
def test_irot_and_imir_come_out_upright(fmt: str, orientation: int) -> None:
    data = images.oriented(fmt, orientation)
    assert b"irot" in data or b"imir" in data
    processed = process(data)
    assert (processed.source_width, processed.source_height) == (64, 48)
    assert_upright(processed)


def test_avif_exif_orientation_without_irot_is_shown_as_stored() -> None:
    """HEIF players follow `irot`/`imir` and ignore the EXIF tag: so do we, as Pillow does."""
    data = images.unrotated(images.oriented("AVIF", 6))
    processed = process(data)
    assert processed.orientation_applied == 1
    assert (processed.source_width, processed.source_height) == (48, 64)


def test_sixteen_bit_heic_becomes_eight_bit_with_its_colour() -> None:
    pixels = (40000).to_bytes(2, "little") + (1000).to_bytes(2, "little") * 2
    buf = io.BytesIO()
    pillow_heif.from_bytes("RGB;16", (64, 48), pixels * 64 * 48).save(buf, quality=95)
    im = assert_clean(variant(process(buf.getvalue()), 96, "jpg"))
    assert close(pixel(im, 0.5, 0.5), (156, 4, 4), tolerance=12)


@pytest.mark.parametrize("fmt", FORMATS)
def test_transparent_picture_keeps_its_alpha(fmt: str) -> None:
    processed = process(make(fmt, im=images.solid(mode="RGBA", colour=(220, 20, 30, 100))))
    assert processed.has_alpha
    im = assert_clean(variant(processed, 96, "png"))
    assert im.mode == "RGBA" and close(im.getpixel((48, 48)), (220, 20, 30, 100))  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", FORMATS)
def test_truncated_file_is_422_corrupt(fmt: str) -> None:
    data = make(fmt, im=images.quadrants((256, 256)))
    assert_refused(refusal(data[: len(data) * 2 // 3]), 422, "corrupt")


@pytest.mark.parametrize("fmt", FORMATS)
def test_huge_ispe_is_422_before_decoding(fmt: str, no_decoding: None) -> None:
    assert_refused(refusal(images.with_ispe(make(fmt), 17000, 17000)), 422, "too_many_pixels")


def test_corpus_avif_of_17000_squared_is_422_before_decoding(no_decoding: None) -> None:
    assert_refused(refusal(images.fixture("vips_17000x17000.avif")), 422, "too_many_pixels")


def test_heic_whose_ispe_understates_its_pixels_is_422_corrupt() -> None:
    """libheif checks the decoded size against `ispe`: a file cannot smuggle a bigger picture."""
    data = images.heic(images.quadrants((512, 512)))
    assert_refused(refusal(images.with_ispe(data, 16, 16)), 422, "corrupt")


def test_avif_sequence_is_animated() -> None:
    processed = process(images.avif_sequence(frames=3))
    assert processed.source_format == "AVIF" and processed.animated
    assert variant(processed, 96, "webp", animated=True)


def test_avif_sequence_of_too_many_frames_is_422_before_decoding(no_decoding: None) -> None:
    data = images.with_sample_count(images.avif_sequence(frames=2), 100_000)
    assert_refused(refusal(data), 422, "too_many_frames")


def test_avif_size_is_read_from_its_av1_sequence_header_too() -> None:
    header = read_header(images.avif(images.quadrants((301, 199))), Limits())
    assert (header.width, header.height) == (301, 199)


def test_avif_whose_ispe_understates_its_coded_size_is_422_corrupt(no_decoding: None) -> None:
    """libavif decodes what the AV1 data says, whatever `ispe` claims: a file where the two
    disagree is refused, as libheif refuses such a HEIC."""
    lie = images.with_ispe(images.avif(images.quadrants((300, 200))), 16, 16)
    assert_refused(refusal(lie), 422, "corrupt")


def test_avif_whose_ispe_understates_a_huge_picture_is_422_before_decoding(
    no_decoding: None,
) -> None:
    lie = images.with_ispe(images.avif(images.solid((12_500, 16))), 16, 16)
    assert_refused(refusal(lie), 422, "too_many_pixels")


def test_avif_sequence_size_and_frames_are_read() -> None:
    header = read_header(images.avif_sequence(frames=2, size=(120, 90)), Limits())
    assert (header.width, header.height, header.frames) == (120, 90, 2)


def test_avif_sequence_whose_ispe_understates_is_422_corrupt(no_decoding: None) -> None:
    lie = images.with_ispe(images.avif_sequence(frames=2, size=(120, 90)), 8, 8)
    assert_refused(refusal(lie), 422, "corrupt")
