"""The default crop on a real face (Pillow's hopper.jpg), off centre on a wide canvas, and down to a
sixteenth of the picture's long edge."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from tests import images
from web.services.imaging import Crop, centre_crop, faces, process, suggest_crop

Box = tuple[float, float, float, float]
# Where Grace Hopper's face is in hopper.jpg (128 x 128): left, top, right, bottom, measured.
HOPPER_FACE = (35, 21, 93, 79)
CANVAS = (1200, 500)
PLACED_AT, PLACED_SIDE = (820, 60), 320


def hopper_off_centre(fmt: str = "JPEG") -> bytes:
    """hopper.jpg scaled up and pasted near the right edge of a plain wide canvas."""
    hopper = Image.open(images.fixture_path("pillow_hopper.jpg")).convert("RGB")
    canvas = Image.new("RGB", CANVAS, (120, 140, 120))
    canvas.paste(hopper.resize((PLACED_SIDE, PLACED_SIDE)), PLACED_AT)
    return images.encode(canvas, fmt, quality=90) if fmt == "JPEG" else images.heic(canvas)


def face_on_canvas() -> tuple[float, float, float, float]:
    scale = PLACED_SIDE / 128
    left, top, right, bottom = HOPPER_FACE
    x, y = PLACED_AT
    return x + left * scale, y + top * scale, x + right * scale, y + bottom * scale


def crop_box(crop: Crop) -> tuple[float, float, float, float]:
    left, top, side = crop.box(*CANVAS)
    return left, top, left + side, top + side


def contains(outer: tuple[float, ...], inner: tuple[float, ...]) -> bool:
    return (
        outer[0] <= inner[0]
        and outer[1] <= inner[1]
        and outer[2] >= inner[2]
        and (outer[3] >= inner[3])
    )


def test_detector_finds_hoppers_face() -> None:
    hopper = Image.open(images.fixture_path("pillow_hopper.jpg")).convert("RGB")
    found = faces.largest_face(hopper)
    assert found is not None
    x, y, side = found
    assert contains((x - 8, y - 8, x + side + 8, y + side + 8), HOPPER_FACE)


@pytest.mark.parametrize("fmt", ["JPEG", "HEIF"])
def test_default_crop_contains_the_off_centre_face(fmt: str) -> None:
    processed = process(hopper_off_centre(fmt))
    assert processed.crop_source == "face"
    assert contains(crop_box(processed.crop), face_on_canvas())
    assert processed.crop != centre_crop(*CANVAS)


def test_face_crop_leaves_room_around_the_face() -> None:
    left, top, right, bottom = crop_box(process(hopper_off_centre()).crop)
    f_left, f_top, f_right, f_bottom = face_on_canvas()
    assert f_top - top > 0.1 * (f_bottom - f_top)  # hair
    assert bottom - f_bottom > 0.1 * (f_bottom - f_top)  # chin
    assert right - left <= min(CANVAS)


def test_faceless_picture_falls_back_to_the_centre() -> None:
    processed = process(images.jpeg((1200, 500)))
    assert processed.crop_source == "centre"
    assert processed.crop == centre_crop(1200, 500)


def test_members_own_crop_wins_over_the_face() -> None:
    mine = Crop(0.0, 0.0, 0.5)
    processed = process(hopper_off_centre(), crop=mine)
    assert processed.crop_source == "member"
    assert processed.crop == mine


def test_animation_keeps_the_centre() -> None:
    processed = process(images.animated_gif())
    assert processed.crop_source == "centre"


def test_suggestion_is_the_crop_process_uses() -> None:
    data = hopper_off_centre()
    suggestion = suggest_crop(data)
    assert suggestion.source == "face"
    assert suggestion.crop == process(data).crop


def test_suggestion_for_a_faceless_picture_is_the_centre() -> None:
    suggestion = suggest_crop(images.png((300, 200)))
    assert (suggestion.source, suggestion.crop) == ("centre", centre_crop(300, 200))


# A small face: hopper.jpg scaled so that its face (HOPPER_FACE: 58 of its 128 px) is `face` px
# tall, at (x, y) fractions of the room left on a plain canvas.
SMALL_FACES = [
    ((1500, 500), 115, (0.85, 0.3)),  # the panorama: 7.7 % of the long edge
    ((1500, 500), 1500 / 16, (0.5, 0.5)),
    ((1500, 500), 1500 / 16, (0.3, 0.9)),
    ((1600, 1200), 1600 / 16, (0.1, 0.5)),  # a 4:3 photo
    ((900, 1200), 1200 / 16, (0.7, 0.1)),  # a portrait
]


def small_face(canvas: tuple[int, int], face: float, at: tuple[float, float]) -> tuple[bytes, Box]:
    """The picture (a JPEG) and where its face is in it."""
    scale = face / (HOPPER_FACE[3] - HOPPER_FACE[1])
    side = round(128 * scale)
    x, y = round((canvas[0] - side) * at[0]), round((canvas[1] - side) * at[1])
    hopper = Image.open(images.fixture_path("pillow_hopper.jpg")).convert("RGB")
    picture = Image.new("RGB", canvas, (120, 140, 120))
    picture.paste(hopper.resize((side, side)), (x, y))
    left, top, right, bottom = HOPPER_FACE
    box = (x + left * scale, y + top * scale, x + right * scale, y + bottom * scale)
    return images.encode(picture, "JPEG", quality=90), box


@pytest.mark.parametrize(("canvas", "face", "at"), SMALL_FACES)
def test_a_face_down_to_a_sixteenth_of_the_long_edge_gets_the_square(
    canvas: tuple[int, int], face: float, at: tuple[float, float]
) -> None:
    data, where = small_face(canvas, face, at)
    assert (where[3] - where[1]) / max(canvas) >= faces.SMALLEST_FACE - 1e-9
    processed = process(data)
    assert processed.crop_source == "face"
    left, top, side = processed.crop.box(*canvas)
    assert contains((left, top, left + side, top + side), where)


def test_the_search_is_sized_for_the_cascades_own_window() -> None:
    assert faces._cascade().getOriginalWindowSize() == (faces.WINDOW, faces.WINDOW)
    # the smallest face wanted is at least the window in the picture searched
    assert faces.SEARCH_SIDE * faces.SMALLEST_FACE >= faces.WINDOW


def test_a_large_picture_is_searched_at_the_search_side() -> None:
    searched = faces.searched(Image.new("RGB", (4032, 3024)))
    assert (searched.mode, searched.size) == ("L", (faces.SEARCH_SIDE, 300))


def _one_call(grey: Image.Image, step: float, largest: int) -> tuple[int, int, int] | None:
    """The largest face as a single detectMultiScale call over the pass's whole range finds it."""
    found = faces._cascade().detectMultiScale(
        np.asarray(grey),
        scaleFactor=step,
        minNeighbors=faces._NEIGHBOURS,
        minSize=(faces.WINDOW, faces.WINDOW),
        maxSize=(largest, largest),
    )
    if len(found) == 0:
        return None
    x, y, w, h = max(found, key=lambda box: int(box[2]) * int(box[3]))
    return int(x), int(y), max(int(w), int(h))


@pytest.mark.parametrize(("canvas", "face", "at"), [*SMALL_FACES, ((1600, 1200), 400, (0.8, 0.3))])
def test_each_pass_cut_in_two_halves_finds_what_one_call_finds(
    canvas: tuple[int, int], face: float, at: tuple[float, float]
) -> None:
    data, _ = small_face(canvas, face, at)
    search = faces.searched(Image.open(io.BytesIO(data)).convert("RGB"))
    results = []
    for cut, step, largest, split in faces._PASSES:
        grey = search.reduce(cut) if cut > 1 else search
        halves = faces._detect(grey, step, largest, split)
        assert halves == _one_call(grey, step, largest)
        results.append(halves)
    assert any(results)  # a face was there to be found, by one pass or the other
