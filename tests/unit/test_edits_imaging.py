"""Enhance and background (issue 28) on generated pictures and on a public-domain photo
(tests/fixtures/pillow_hopper.jpg: Grace Hopper, a U.S. Navy photograph in the public domain,
as shipped in Pillow's test images; tests/fixtures/README.md)."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from tests import images
from web.services import imaging
from web.services.imaging import background, faces
from web.services.imaging.enhance import enhance

HOPPER = Path(__file__).parent.parent / "fixtures" / "pillow_hopper.jpg"
SIDE = 384


def hopper(side: int = SIDE) -> Image.Image:
    with Image.open(HOPPER) as im:
        return im.convert("RGB").resize((side, side), Image.Resampling.BICUBIC)


def dim_cast(im: Image.Image) -> Image.Image:
    """im under a dim, orange light, with sensor noise: what a phone makes of a dark room."""
    rgb = np.asarray(im, dtype=np.float64) * np.array([0.45, 0.36, 0.24])
    noisy = rgb + np.random.default_rng(28).normal(0.0, 3.0, rgb.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def balanced_scene() -> Image.Image:
    """A generated, well-exposed, neutral picture: grey ramps and colour patches on mid grey."""
    y, x = np.mgrid[0:SIDE, 0:SIDE]
    grey = (40 + 180 * x / SIDE).astype(np.uint8)
    rgb = np.dstack([grey, grey, grey])
    rgb[40:140, 40:140] = (200, 60, 50)
    rgb[40:140, 240:340] = (50, 90, 200)
    rgb[240:340, 140:240] = (70, 170, 80)
    return Image.fromarray(rgb)


def luminance(im: Image.Image) -> float:
    return float(np.asarray(im.convert("L"), dtype=np.float64).mean())


def mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    return float(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)).mean())


def grey_world_deviation(im: Image.Image) -> float:
    means = np.asarray(im, dtype=np.float64).reshape(-1, 3).mean(axis=0)
    return float(np.abs(means / means.mean() - 1.0).max())


@pytest.mark.parametrize("source", [hopper, balanced_scene], ids=["hopper", "generated"])
def test_enhance_leaves_a_well_exposed_photo_nearly_unchanged(source) -> None:
    im = source()
    assert mean_abs_diff(im, enhance(im)) < 3


@pytest.mark.parametrize("source", [hopper, balanced_scene], ids=["hopper", "generated"])
def test_enhance_lifts_a_dim_colour_cast_photo_toward_neutral(source) -> None:
    dim = dim_cast(source())
    out = enhance(dim)
    assert luminance(out) >= luminance(dim) + 20
    assert grey_world_deviation(out) < grey_world_deviation(dim)


def test_enhance_denoises_a_noisy_source_gently() -> None:
    from web.services.imaging.enhance import noise_sigma

    clean = np.asarray(hopper(), dtype=np.float64)
    noisy = np.clip(clean + np.random.default_rng(1).normal(0, 12, clean.shape), 0, 255)
    im = Image.fromarray(noisy.astype(np.uint8))
    out = np.asarray(enhance(im))
    assert noise_sigma(out) < noise_sigma(np.asarray(im)) * 0.8


def high_frequency(rgb: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float64)
    return np.asarray(cv2.Laplacian(grey, cv2.CV_64F)) ** 2


def test_background_blur_softens_behind_the_person_not_the_face() -> None:
    im = hopper()
    mask = background.person_mask(im)
    out = np.asarray(background.blurred(im, mask))
    before, after = high_frequency(np.asarray(im)), high_frequency(out)
    behind = mask < 0.1
    assert behind.mean() > 0.2  # the model found a person, not the whole picture
    assert after[behind].sum() <= 0.5 * before[behind].sum()
    face = faces.largest_face(im)
    assert face is not None
    # The cascade's box reaches past the cheeks into the flag behind: its middle (a 15 % inset
    # a side) is the face itself.
    x, y, side = face
    inset = 0.15 * side
    top, left, bottom, right = (
        round(v) for v in (y + inset, x + inset, y + side - inset, x + side - inset)
    )
    box = (slice(top, bottom), slice(left, right))
    assert after[box].sum() >= 0.9 * before[box].sum()


def test_background_colour_fills_behind_the_person() -> None:
    im = hopper()
    mask = background.person_mask(im)
    out = np.asarray(background.coloured(im, (0x1A, 0x6B, 0x9C), mask))
    behind = mask < 0.02  # what is left of the picture there: under 2 % of 255
    assert np.abs(out[behind].astype(int) - (0x1A, 0x6B, 0x9C)).max() <= 5
    front = mask > 0.98
    assert np.abs(out[front].astype(int) - np.asarray(im)[front]).max() <= 5


def test_the_model_is_checked_against_its_recorded_digest() -> None:
    assert len(background._model_bytes()) == 249_505


def photo_jpeg() -> bytes:
    buf = io.BytesIO()
    hopper(512).save(buf, "JPEG", quality=92)
    return buf.getvalue()


def test_process_records_edits_and_keeps_the_master_as_it_is() -> None:
    data = photo_jpeg()
    plain = imaging.process(data)
    edits = imaging.edits_from("on", "blur", "")
    edited = imaging.process(data, edits=edits)
    assert edited.edits == ("enhance", "background:blur")
    assert plain.edits == ()
    assert edited.master.data == plain.master.data
    assert edited.digest != plain.digest
    big = {v.px: v for v in edited.variants if v.ext == "webp"}
    assert big[max(big)].data != {v.px: v for v in plain.variants if v.ext == "webp"}[max(big)].data


def test_recrop_applies_edits_to_the_new_variants_only() -> None:
    plain = imaging.process(photo_jpeg())
    edits = imaging.edits_from("", "color", "#1A6B9C")
    again = imaging.recrop(plain.master.data, crop=plain.crop, edits=edits)
    assert again.edits == ("background:color:#1a6b9c",)
    assert again.master.data == plain.master.data


def test_edits_on_an_animation_are_refused() -> None:
    with pytest.raises(imaging.ImageRejected) as refused:
        imaging.process(images.animated_gif(), edits=imaging.edits_from("on", "keep", ""))
    assert refused.value.code == "no_edits_animated"
    assert imaging.process(images.animated_gif()).edits == ()


def test_preview_is_a_small_webp_that_changes_with_the_edits() -> None:
    data = photo_jpeg()
    plain = imaging.preview(data, edits=imaging.NO_EDITS)
    blurred = imaging.preview(data, edits=imaging.edits_from("true", "blur", ""))
    with Image.open(io.BytesIO(blurred)) as im:
        assert (im.format, im.size) == ("WEBP", (192, 192))
    assert plain != blurred


@pytest.mark.parametrize(
    ("enhance_field", "how", "colour", "code"),
    [
        ("yes", "keep", "", "bad_enhance"),
        ("on", "sepia", "", "bad_background"),
        ("", "color", "", "bad_background_color"),
        ("", "color", "red", "bad_background_color"),
        ("", "color", "#12345", "bad_background_color"),
        ("", "blur", "#zzzzzz", "bad_background_color"),
    ],
)
def test_bad_edit_fields_are_refused_by_name(enhance_field, how, colour, code) -> None:
    with pytest.raises(imaging.ImageRejected) as refused:
        imaging.edits_from(enhance_field, how, colour)
    assert (refused.value.status, refused.value.code) == (422, code)


def test_edit_fields_as_the_forms_send_them() -> None:
    assert imaging.edits_from("", "", "#000000") == imaging.NO_EDITS
    assert imaging.edits_from("on", "keep", "").labels() == ("enhance",)
    assert imaging.edits_from("TRUE", "Color", "#ABCDEF").labels() == (
        "enhance",
        "background:color:#abcdef",
    )
    assert [imaging.describe(x) for x in ("enhance", "background:blur")] == [
        "enhanced",
        "background blurred",
    ]
    assert imaging.describe("background:color:#abcdef") == "background colour #abcdef"
