"""What the pipeline's threads must not change: each variant is encoded with its own format's
options, and the face search's second pass (run beside the centre's variants) decides the
square as it would alone."""

from __future__ import annotations

from PIL import Image

from tests.unit.test_face_crop import SMALL_FACES, small_face
from web.services.imaging import VARIANT_PX, process
from web.services.imaging import encode as enc


def photo_squares() -> dict[int, Image.Image]:
    bands = [Image.effect_noise((768, 768), sigma) for sigma in (20, 40, 60)]
    return enc.squares(Image.merge("RGB", bands), (0, 0, 768, 768), VARIANT_PX)


def test_every_variant_is_encoded_as_it_would_be_alone() -> None:
    squares = photo_squares()
    alone = {
        (px, ext): enc.encode(im, ext) for px, im in squares.items() for ext in ("webp", "jpg")
    }
    for _ in range(5):  # the threads race differently each time
        made = {(v.px, v.ext): v.data for v in enc.still_variants(squares, alpha=False)}
        assert made == alone


def test_a_face_only_the_second_pass_finds_gets_its_squares_variants() -> None:
    canvas, face, at = SMALL_FACES[0]  # the panorama: the first pass misses it
    data, _ = small_face(canvas, face, at)
    searched = process(data)
    assert searched.crop_source == "face"
    given = process(data, crop=searched.crop)  # the same square, no search
    assert [v.data for v in searched.variants] == [v.data for v in given.variants]
