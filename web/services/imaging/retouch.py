"""The edits applied to a picture's square before its variants are made (docs/editing.md).

They work on one square at the largest variant's size, cut from the frame: the variants are
made from it down the usual chain, and the master (the uncropped source, kept to crop again)
is never touched. An alpha channel is set aside and put back: only the colour is edited.
"""

from __future__ import annotations

from PIL import Image

from web.services.imaging import background
from web.services.imaging.edits import Edits
from web.services.imaging.enhance import enhance
from web.services.imaging.types import VARIANT_PX

EDIT_SIDE = max(VARIANT_PX)


def edited_square(
    frame: Image.Image, box: tuple[float, float, float, float], edits: Edits
) -> Image.Image:
    """The crop box of frame at EDIT_SIDE pixels a side, with the edits applied."""
    side = (EDIT_SIDE, EDIT_SIDE)
    square = frame.resize(side, Image.Resampling.BICUBIC, box=box, reducing_gap=3.0)
    return retouched(square, edits)


def retouched(im: Image.Image, edits: Edits) -> Image.Image:
    """im with the edits applied: enhance first, so the background's colour is not enhanced."""
    alpha = im.getchannel("A") if im.mode in ("RGBA", "LA") else None
    out = im.convert("RGB")
    if edits.enhance:
        out = enhance(out)
    if edits.background == "blur":
        out = background.blurred(out)
    elif edits.background == "color":
        out = background.coloured(out, edits.rgb())
    if alpha is not None:
        out.putalpha(alpha)
    return out
