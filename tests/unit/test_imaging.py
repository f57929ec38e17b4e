"""The image pipeline as pure functions over images made in code (tests/images.py)."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable

import pytest
from PIL import Image, ImageFile

from tests import images
from web.services.imaging import (
    SIZES,
    VARIANT_PX,
    Crop,
    ImageRejected,
    Limits,
    Processed,
    Variant,
    decode,
    process,
    recrop,
    sniff_format,
)

FORMAT_OF_EXT = {"webp": "WEBP", "jpg": "JPEG", "png": "PNG"}
METADATA_KEYS = ("exif", "icc_profile", "comment", "xmp", "XML:com.adobe.xmp", "dpi", "loop")


def refusal(data: bytes, crop: Crop | None = None, limits: Limits | None = None) -> ImageRejected:
    with pytest.raises(ImageRejected) as caught:
        process(data, crop=crop, limits=limits or Limits())
    exc = caught.value
    assert exc.message.endswith(".") and exc.message[0].isupper() and len(exc.message) > 20
    return exc


def assert_refused(exc: ImageRejected, status: int, code: str) -> None:
    assert (exc.status, exc.code) == (status, code), exc.message


def assert_clean(variant: Variant) -> Image.Image:
    """Opens an output and checks it is square, the right size and free of metadata."""
    im = images.decoded(variant.data)
    assert im.format == FORMAT_OF_EXT[variant.ext]
    assert variant.mime == Image.MIME[im.format]
    assert im.size == (variant.px, variant.px)
    assert im.mode in ("RGB", "RGBA")
    assert not [key for key in METADATA_KEYS if key in im.info and key != "loop"], im.info
    assert not im.getexif()
    return im


def variant(processed: Processed, px: int, ext: str, *, animated: bool = False) -> Variant:
    return next(v for v in processed.variants if (v.px, v.ext, v.animated) == (px, ext, animated))


def outputs(processed: Processed) -> list[bytes]:
    return [processed.master.data, *(v.data for v in processed.variants)]


def pixel(im: Image.Image, fx: float, fy: float) -> tuple[int, ...]:
    value = im.convert("RGB").getpixel((int(im.width * fx), int(im.height * fy)))
    assert isinstance(value, tuple)
    return value


def close(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=False))


@pytest.fixture(scope="module")
def photo() -> Processed:
    return process(images.jpeg())


# --- formats -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("factory", "fmt"),
    [(images.jpeg, "JPEG"), (images.png, "PNG"), (images.gif, "GIF"), (images.webp, "WEBP")],
)
def test_sniff_format_reads_magic_bytes(factory: Callable[[], bytes], fmt: str) -> None:
    assert sniff_format(factory()[:16]) == fmt


def test_sniff_format_of_empty_is_415_empty() -> None:
    with pytest.raises(ImageRejected) as caught:
        sniff_format(b"")
    assert_refused(caught.value, 415, "empty")


@pytest.mark.parametrize("name", sorted(images.magic_of_other_formats()))
def test_other_formats_are_415_unsupported_naming_the_accepted_ones(name: str) -> None:
    exc = refusal(images.magic_of_other_formats()[name])
    assert_refused(exc, 415, "unsupported_format")
    assert "JPEG, PNG, GIF, WebP, HEIC/HEIF or AVIF" in exc.message


def test_empty_upload_is_415_empty() -> None:
    assert_refused(refusal(b""), 415, "empty")


def test_svg_with_script_is_415_unsupported() -> None:
    assert_refused(refusal(images.svg_with_script()), 415, "unsupported_format")


def test_html_renamed_is_415_unsupported() -> None:
    assert_refused(refusal(images.html_renamed()), 415, "unsupported_format")


def test_twelve_bit_jpeg_is_415_unsupported_encoding() -> None:
    assert_refused(refusal(images.twelve_bit_jpeg()), 415, "unsupported_encoding")


# --- size limits ---------------------------------------------------------------------------


def test_upload_over_cap_is_413_too_large() -> None:
    assert_refused(refusal(images.over_cap(11)), 413, "too_large")


def test_cap_follows_limits() -> None:
    assert_refused(refusal(images.jpeg(), limits=Limits(max_bytes=100)), 413, "too_large")


def test_png_bomb_is_422_too_many_pixels() -> None:
    data = images.png_bomb()
    assert len(data) < 500_000
    assert_refused(refusal(data), 422, "too_many_pixels")


def test_header_claiming_65535_square_is_422_too_many_pixels() -> None:
    assert_refused(refusal(images.png_header_only(65535, 65535)), 422, "too_many_pixels")


def test_side_over_max_side_is_422_too_many_pixels() -> None:
    assert_refused(refusal(images.png_header_only(13_000, 10)), 422, "too_many_pixels")


def test_zero_width_header_is_422_corrupt() -> None:
    assert_refused(refusal(images.png_header_only(0, 10)), 422, "corrupt")


def test_pillow_bomb_error_is_422_too_many_pixels() -> None:
    # Limits far above Pillow's own: its DecompressionBombError is what refuses.
    loose = Limits(max_pixels=10**10, max_side=70_000)
    exc = refusal(images.png_header_only(65535, 65535), limits=loose)
    assert_refused(exc, 422, "too_many_pixels")


def test_pillow_bomb_warning_raised_as_error_is_422_too_many_pixels() -> None:
    loose = Limits(max_pixels=10**10, max_side=70_000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        exc = refusal(images.png_header_only(10_000, 10_000), limits=loose)
    assert_refused(exc, 422, "too_many_pixels")


# --- damaged files -------------------------------------------------------------------------


def test_truncated_jpeg_is_422_corrupt() -> None:
    assert_refused(refusal(images.truncated_jpeg()), 422, "corrupt")


def test_truncated_png_is_422_corrupt() -> None:
    assert_refused(refusal(images.truncated_png()), 422, "corrupt")


def test_garbage_after_png_magic_is_422_corrupt() -> None:
    assert_refused(refusal(b"\x89PNG\r\n\x1a\n" + b"\x07" * 200), 422, "corrupt")


def test_garbage_after_jpeg_magic_is_422_corrupt() -> None:
    assert_refused(refusal(b"\xff\xd8\xff\xe0" + b"\x00" * 200), 422, "corrupt")


def test_jpeg_with_a_truncated_adobe_segment_is_accepted() -> None:
    # From Pillow's own tests: the APP14 length is one byte short; Pillow and browsers show it.
    processed = process(images.fixture("pillow_truncated_app14.jpg"))
    assert (processed.source_format, processed.source_width) == ("JPEG", 100)


def test_jpeg_with_junk_between_segments_is_accepted() -> None:
    processed = process(images.jpeg_with_junk_before_a_marker())
    assert processed.source_width == 64


def test_jpeg_with_only_junk_after_its_segments_is_422_corrupt() -> None:
    data = images.jpeg()
    cut = data.index(b"\xff\xdb")
    assert_refused(refusal(data[:cut] + b"\x01" * 64), 422, "corrupt")


def test_truncated_files_stay_refused_by_default() -> None:
    refusal(images.truncated_jpeg())
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


# --- animation limits ----------------------------------------------------------------------


def test_gif_over_max_frames_is_422_too_many_frames() -> None:
    assert_refused(refusal(images.many_frame_gif(301)), 422, "too_many_frames")


def test_gif_of_40000_frames_is_refused_without_walking_them() -> None:
    assert_refused(refusal(images.many_frame_gif(40_000)), 422, "too_many_frames")


def test_gif_at_max_frames_is_accepted() -> None:
    processed = process(images.many_frame_gif(3), limits=Limits(max_frames=3))
    assert processed.animated


def test_animation_over_pixel_budget_is_422_animation_too_large() -> None:
    tight = Limits(max_animation_pixels=3 * 40 * 30 - 1)
    assert_refused(refusal(images.animated_gif(), limits=tight), 422, "animation_too_large")


# --- crop ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "y", "size"),
    [(-0.1, 0, 0.5), (0, -0.1, 0.5), (0, 0, 0), (0, 0, -1), (0, 0, 1.5), (float("nan"), 0, 0.5)],
)
def test_crop_out_of_range_is_422_bad_crop(x: float, y: float, size: float) -> None:
    with pytest.raises(ImageRejected) as caught:
        Crop(x, y, size)
    assert_refused(caught.value, 422, "bad_crop")


def test_crop_box_past_the_edge_is_422_bad_crop() -> None:
    exc = refusal(images.jpeg((64, 48)), crop=Crop(0.5, 0.0, 1.0))
    assert_refused(exc, 422, "bad_crop")


def test_crop_overshooting_by_float_noise_is_clamped() -> None:
    processed = process(images.jpeg((64, 48)), crop=Crop(0.25 + 1e-9, 0.0, 1.0 + 1e-9))
    assert len(processed.variants) == 2 * len(VARIANT_PX)


def test_crop_selects_the_region() -> None:
    # The top-left quadrant, a quarter of the shorter side wide, is red.
    processed = process(images.oriented_jpeg(1, (64, 48)), crop=Crop(0.05, 0.05, 0.4))
    im = assert_clean(processed.variants[-1])
    assert close(pixel(im, 0.5, 0.5), images.RED)


# --- outputs -------------------------------------------------------------------------------


def test_variant_sizes_are_1x_and_2x_of_every_place() -> None:
    assert tuple(sorted({px * k for px in SIZES.values() for k in (1, 2)})) == VARIANT_PX
    assert VARIANT_PX == (24, 40, 48, 80, 96, 192, 384)


def test_still_has_webp_and_jpeg_at_every_size(photo: Processed) -> None:
    made = {(v.px, v.ext) for v in photo.variants}
    assert made == {(px, ext) for px in VARIANT_PX for ext in ("webp", "jpg")}
    assert not any(v.animated for v in photo.variants)


def test_every_variant_is_square_sized_and_clean(photo: Processed) -> None:
    for variant in photo.variants:
        assert_clean(variant)


def test_master_is_clean_uncropped_and_oriented(photo: Processed) -> None:
    master = images.decoded(photo.master.data)
    assert master.size == (photo.master.width, photo.master.height) == (64, 48)
    assert (photo.master.ext, photo.master.mime) == ("jpg", "image/jpeg")
    assert "exif" not in master.info and "icc_profile" not in master.info


def test_master_is_at_most_1024_px() -> None:
    processed = process(images.png((1500, 700)))
    assert (processed.master.width, processed.master.height) == (1024, 478)


def test_placeholder_is_the_average_colour(photo: Processed) -> None:
    red, green, blue = (int(photo.placeholder[i : i + 2], 16) for i in (1, 3, 5))
    assert close((red, green, blue), images.RED, 12)


def test_source_facts_are_reported(photo: Processed) -> None:
    assert (photo.source_format, photo.source_width, photo.source_height) == ("JPEG", 64, 48)
    assert (photo.orientation_applied, photo.animated, photo.has_alpha) == (1, False, False)


def test_digest_is_stable_for_the_same_input() -> None:
    assert process(images.jpeg()).digest == process(images.jpeg()).digest


def test_digest_is_32_hex_chars(photo: Processed) -> None:
    assert len(photo.digest) == 32 and int(photo.digest, 16) >= 0


def test_digest_differs_for_another_crop() -> None:
    data = images.jpeg()
    assert process(data).digest != process(data, crop=Crop(0, 0, 0.5)).digest


def test_explicit_centre_crop_has_the_default_digest() -> None:
    data = images.jpeg((64, 48))
    assert process(data).digest == process(data, crop=Crop(0.125, 0, 1)).digest


def test_tiny_1x1_is_accepted_at_every_size() -> None:
    for variant in process(images.tiny()).variants:
        assert_clean(variant)


def test_panorama_is_cropped_square_from_the_centre() -> None:
    processed = process(images.panorama())
    assert (processed.source_width, processed.source_height) == (4000, 300)
    assert {assert_clean(v).size for v in processed.variants} == {(px, px) for px in VARIANT_PX}


def test_large_jpeg_is_drafted_yet_sharp_enough() -> None:
    # 2000 px: decoded at 1/4 scale (500 px) which still covers the 384 px variant.
    processed = process(images.jpeg((2000, 1600)))
    assert (processed.master.width, processed.master.height) == (500, 400)
    assert_clean(processed.variants[-1])


# --- orientation ---------------------------------------------------------------------------


def assert_upright(processed: Processed) -> None:
    im = assert_clean(variant(processed, 96, "jpg"))
    seen = [pixel(im, fx, fy) for fx, fy in ((0.2, 0.2), (0.8, 0.2), (0.8, 0.8), (0.2, 0.8))]
    assert all(close(got, want) for got, want in zip(seen, images.QUADRANTS, strict=True)), seen


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_comes_out_upright(orientation: int) -> None:
    processed = process(images.oriented_jpeg(orientation))
    assert processed.orientation_applied == orientation
    assert (processed.source_width, processed.source_height) == (64, 48)
    assert_upright(processed)


def test_big_endian_exif_orientation_is_read() -> None:
    exif = images.exif_orientation_block(6, big_endian=True)
    processed = process(images.jpeg_with_exif(exif, orientation=6))
    assert processed.orientation_applied == 6
    assert_upright(processed)


def test_xmp_orientation_is_read_when_exif_has_none() -> None:
    processed = process(images.xmp_oriented_jpeg(8))
    assert processed.orientation_applied == 8
    assert_upright(processed)


def test_damaged_exif_is_shown_as_stored() -> None:
    exif = images.exif_orientation_block(6, big_endian=False)[:-8]
    with warnings.catch_warnings():
        # Pillow's JPEG plugin reads EXIF for its DPI on open and warns when it is damaged:
        # a served process prints that once; only a process that makes warnings errors
        # (like this test run) would refuse the file as corrupt.
        warnings.simplefilter("ignore", UserWarning)
        processed = process(images.jpeg_with_exif(exif, orientation=1))
    assert processed.orientation_applied == 1
    assert_upright(processed)


def test_out_of_range_orientation_is_ignored() -> None:
    exif = images.exif_orientation_block(9, big_endian=False)
    assert process(images.jpeg_with_exif(exif, orientation=1)).orientation_applied == 1


# --- metadata and payloads -----------------------------------------------------------------


def test_gps_exif_is_gone() -> None:
    processed = process(images.gps_jpeg())
    for data in outputs(processed):
        assert b"SecretCamMaker" not in data and b"Exif" not in data
    for variant in processed.variants:
        assert_clean(variant)


def test_php_in_jpeg_comment_is_gone() -> None:
    processed = process(images.commented_jpeg(b"<?php system($_GET['c']); ?>"))
    assert not any(b"<?php" in data for data in outputs(processed))


def test_png_text_chunk_is_gone() -> None:
    processed = process(images.png_with_text("Comment", "<script>alert(1)</script>"))
    assert not any(b"<script" in data for data in outputs(processed))


def test_payload_in_pixels_does_not_survive() -> None:
    payload = b"<?php system($_GET[0]); ?>"
    processed = process(images.payload_in_pixels(payload))
    assert not any(b"<?php" in data for data in outputs(processed))


def test_gif_js_polyglot_loses_its_script() -> None:
    data = images.gif_js_polyglot()
    assert sniff_format(data) == "GIF" and b"alert(1)" in data
    processed = process(data)
    assert not any(b"alert" in out for out in outputs(processed))


# --- colour --------------------------------------------------------------------------------


def test_cmyk_jpeg_becomes_rgb() -> None:
    processed = process(images.cmyk_jpeg((255, 0, 0, 0)))  # pure cyan ink
    im = assert_clean(processed.variants[-1])
    assert im.mode == "RGB" and close(pixel(im, 0.5, 0.5), (0, 255, 255))


def test_16_bit_grey_png_keeps_its_grey() -> None:
    im = assert_clean(process(images.grey16_png(32768)).variants[-1])
    assert close(pixel(im, 0.5, 0.5), (128, 128, 128), 6)


def test_32_bit_grey_is_scaled_like_16_bit() -> None:
    im = decode.to_srgb(Image.new("I", (4, 4), 65535 // 4), None)
    assert im.mode == "RGB" and close(pixel(im, 0.5, 0.5), (64, 64, 64), 2)


def test_float_grey_becomes_8_bit_rgb() -> None:
    im = decode.to_srgb(Image.new("F", (4, 4), 100.0), None)
    assert im.mode == "RGB" and pixel(im, 0.5, 0.5) == (100, 100, 100)


def test_la_png_keeps_its_alpha() -> None:
    processed = process(images.la_png(alpha=100))
    im = assert_clean(variant(processed, 96, "png"))
    assert processed.has_alpha and im.mode == "RGBA"
    assert im.getchannel("A").getextrema() == (100, 100)


def test_palette_png_with_transparency_keeps_alpha() -> None:
    processed = process(images.palette_png_with_transparency())
    assert processed.has_alpha
    alpha = assert_clean(variant(processed, 384, "webp")).getchannel("A")
    assert (alpha.getpixel((80, 192)), alpha.getpixel((300, 192))) == (0, 255)


def test_transparent_png_gets_png_fallbacks_and_webp_alpha() -> None:
    processed = process(images.rgba_png(alpha=0))
    assert processed.has_alpha and processed.master.ext == "png"
    assert {v.ext for v in processed.variants} == {"webp", "png"}
    for variant in processed.variants:
        assert assert_clean(variant).mode == "RGBA"


def test_opaque_rgba_png_is_treated_as_rgb() -> None:
    processed = process(images.rgba_png(alpha=255))
    assert not processed.has_alpha
    assert {v.ext for v in processed.variants} == {"webp", "jpg"}
    assert all(assert_clean(v).mode == "RGB" for v in processed.variants)


def test_icc_profile_is_applied_then_dropped() -> None:
    processed = process(images.with_profile(images.swapped_profile(), images.RED))
    im = assert_clean(processed.variants[-1])
    red, green, _ = pixel(im, 0.5, 0.5)
    assert green > 150 and red < 100


def test_srgb_profile_changes_nothing() -> None:
    processed = process(images.with_profile(images.srgb_profile(), images.RED))
    assert close(pixel(assert_clean(processed.variants[-1]), 0.5, 0.5), images.RED, 8)


def test_broken_icc_profile_is_ignored() -> None:
    processed = process(images.with_profile(b"not a profile" * 20, images.RED))
    assert close(pixel(assert_clean(processed.variants[-1]), 0.5, 0.5), images.RED, 8)


# --- animation -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def animation() -> Processed:
    return process(images.animated_gif())


def test_animated_gif_stays_animated_in_webp(animation: Processed) -> None:
    animated = [v for v in animation.variants if v.animated]
    assert animation.animated and {v.px for v in animated} == {px for px in VARIANT_PX if px <= 192}
    im = images.decoded(animated[-1].data)
    assert (im.format, im.n_frames, im.size) == ("WEBP", 3, (192, 192))
    assert im.info["loop"] == 0


def test_animated_webp_keeps_frame_durations(animation: Processed) -> None:
    im = images.decoded(next(v for v in animation.variants if v.animated).data)
    durations = []
    for index in range(im.n_frames):
        im.seek(index)
        im.load()
        durations.append(im.info["duration"])
    assert durations == [100, 200, 300]


def test_animated_frames_keep_their_colours(animation: Processed) -> None:
    im = images.decoded(variant(animation, 96, "webp", animated=True).data)
    colours = []
    for index in range(3):
        im.seek(index)
        colours.append(pixel(im.convert("RGB"), 0.5, 0.5))
    expected = (images.RED, images.GREEN, images.BLUE)
    assert all(close(c, e) for c, e in zip(colours, expected, strict=True)), colours


def test_animation_has_still_fallbacks_of_the_first_frame(animation: Processed) -> None:
    stills = [v for v in animation.variants if not v.animated]
    assert {(v.px, v.ext) for v in stills} == {
        (px, e) for px in VARIANT_PX for e in ("webp", "jpg")
    }
    for variant in stills:
        im = assert_clean(variant)
        assert getattr(im, "n_frames", 1) == 1
        assert close(pixel(im, 0.5, 0.5), images.RED)


def test_animated_master_is_animated_webp(animation: Processed) -> None:
    master = images.decoded(animation.master.data)
    assert animation.master.animated and (master.format, master.n_frames) == ("WEBP", 3)


def test_animated_webp_source_stays_animated() -> None:
    processed = process(images.animated_webp())
    assert processed.animated and any(v.animated for v in processed.variants)


def test_gif_frames_of_10_ms_or_less_last_100_ms_as_in_browsers() -> None:
    processed = process(images.animated_gif(durations=(0, 10, 20)))
    im = images.decoded(variant(processed, 48, "webp", animated=True).data)
    durations = []
    for index in range(im.n_frames):
        im.seek(index)
        im.load()
        durations.append(im.info["duration"])
    assert durations == [100, 100, 20]


def test_gif_without_loop_plays_once() -> None:
    data = images.animated_gif()
    no_loop = data.replace(b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00", b"")
    assert no_loop != data
    processed = process(no_loop)
    im = images.decoded(next(v for v in processed.variants if v.animated).data)
    assert im.info["loop"] == 1


# --- recrop --------------------------------------------------------------------------------


def test_recrop_keeps_the_master_bytes(photo: Processed) -> None:
    again = recrop(photo.master.data, crop=Crop(0, 0, 0.5))
    assert again.master == photo.master
    assert again.digest != photo.digest
    for variant in again.variants:
        assert_clean(variant)


def test_recrop_of_an_animated_master_stays_animated(animation: Processed) -> None:
    again = recrop(animation.master.data, crop=None)
    assert again.animated and again.master.data == animation.master.data


def test_recrop_of_a_non_image_is_refused() -> None:
    with pytest.raises(ImageRejected) as caught:
        recrop(b"<svg/>", crop=None)
    assert_refused(caught.value, 415, "unsupported_format")


def test_processed_output_decodes_without_pillow_warnings(photo: Processed) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for data in outputs(photo):
            Image.open(io.BytesIO(data)).load()


def test_rotated_turns_a_master_clockwise_by_quarter_turns() -> None:
    from web.services.imaging import rotated

    src = Image.new("RGB", (40, 20), (255, 0, 0))
    src.paste((0, 0, 255), (0, 0, 20, 20))  # blue on the left half
    out = io.BytesIO()
    src.save(out, "JPEG", quality=95)
    right = Image.open(io.BytesIO(rotated(out.getvalue(), 1))).convert("RGB")
    assert right.size == (20, 40)
    assert right.getpixel((10, 5))[2] > 200  # the left half is on top after a right turn
    left = Image.open(io.BytesIO(rotated(out.getvalue(), -1))).convert("RGB")
    assert left.getpixel((10, 35))[2] > 200  # and at the bottom after a left turn
