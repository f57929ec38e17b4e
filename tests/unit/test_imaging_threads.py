"""What the pipeline's threads must not change: each variant is encoded with its own format's
options, as it would be alone."""

from __future__ import annotations

from PIL import Image

from web.services.imaging import VARIANT_PX
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
