"""A still picture (or a HEIF's primary image) through the pipeline: frame 0 upright, the
master encoded while the face is looked for, then every square variant."""

from __future__ import annotations

from concurrent.futures import Future

from PIL import ImageFile

from web.services.imaging import decode as dec
from web.services.imaging import encode as enc
from web.services.imaging.edits import NO_EDITS, Edits
from web.services.imaging.header import Header
from web.services.imaging.results import kept_master, processed
from web.services.imaging.retouch import EDIT_SIDE, edited_square
from web.services.imaging.source import upright
from web.services.imaging.types import VARIANT_PX, Crop, Limits, Master, Processed


def still(
    im: ImageFile.ImageFile,
    header: Header,
    crop: Crop | None,
    limits: Limits,
    kept: bytes | None,
    edits: Edits = NO_EDITS,
) -> Processed:
    source, frame = upright(im, header, crop, limits)
    alpha = not dec.is_opaque(frame)
    if not alpha and frame.mode != "RGB":
        frame = frame.convert("RGB")
    # The master is the whole frame, whatever the crop: encoded while the face is looked for.
    master = None if kept else enc.threads().submit(enc.still_master, frame, alpha)
    source.around_face(frame)
    if edits.any:  # the edits on the square, before the resize chain; never on the master
        square = edited_square(frame, source.box(frame), edits)
        images = enc.squares(square, (0, 0, EDIT_SIDE, EDIT_SIDE), VARIANT_PX)
    else:
        images = enc.squares(frame, source.box(frame), VARIANT_PX)
    variants = enc.still_variants(images, alpha)
    kept_as_it_came = kept_master(kept, header) if kept else None
    master_made = kept_as_it_came or _done(master)
    return processed(source, master_made, alpha, images, variants, edits.labels())


def _done(master: Future[Master] | None) -> Master:
    assert master is not None  # made above whenever no master is kept
    return master.result()
