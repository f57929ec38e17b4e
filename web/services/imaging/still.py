"""A still picture (or a HEIF's primary image) through the pipeline: frame 0 upright, the
master encoded while the face is looked for, then every square variant."""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache

from PIL import Image, ImageFile

from web.services.imaging import decode as dec
from web.services.imaging import encode as enc
from web.services.imaging import faces
from web.services.imaging.edits import NO_EDITS, Edits
from web.services.imaging.header import Header
from web.services.imaging.results import kept_master, processed
from web.services.imaging.retouch import EDIT_SIDE, edited_square
from web.services.imaging.source import Source, upright
from web.services.imaging.types import VARIANT_PX, Crop, Limits, Master, Processed, Variant

Made = tuple[dict[int, Image.Image], list[Variant]]  # every size of the square, and its files


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
    images, variants = _around_face(frame, source, alpha, edits)
    kept_as_it_came = kept_master(kept, header) if kept else None
    master_made = kept_as_it_came or _done(master)
    return processed(source, master_made, alpha, images, variants, edits.labels())


def _around_face(frame: Image.Image, source: Source, alpha: bool, edits: Edits) -> Made:
    """The variants of the member's square, else of the largest face's, else the centre's.

    When the search's first pass finds no face, its second runs on another thread while the
    centre's variants are made: a picture without a face (or with only a small one) waits for
    the longer of the two, not for both. A face found there has its variants made after.
    """
    if source.crop_source != "centre":
        return _squared(frame, source, alpha, edits)
    first, second = faces.passes(frame)
    if source.take(faces.square_on(frame, first())):
        return _squared(frame, source, alpha, edits)
    later = _searcher().submit(second)
    centre = _squared(frame, source, alpha, edits)
    if source.take(faces.square_on(frame, later.result())):
        return _squared(frame, source, alpha, edits)
    return centre


def _squared(frame: Image.Image, source: Source, alpha: bool, edits: Edits) -> Made:
    if edits.any:  # the edits on the square, before the resize chain; never on the master
        square = edited_square(frame, source.box(frame), edits)
        images = enc.squares(square, (0, 0, EDIT_SIDE, EDIT_SIDE), VARIANT_PX)
    else:
        images = enc.squares(frame, source.box(frame), VARIANT_PX)
    return images, enc.still_variants(images, alpha)


@cache
def _searcher() -> ThreadPoolExecutor:
    """The face search's second pass, beside the encoders' threads (which it must not queue
    behind); one thread a core, made on first use. OpenCV lets go of the GIL while it looks."""
    return ThreadPoolExecutor(os.cpu_count() or 2, thread_name_prefix="faces")


def _done(master: Future[Master] | None) -> Master:
    assert master is not None  # made above whenever no master is kept
    return master.result()
