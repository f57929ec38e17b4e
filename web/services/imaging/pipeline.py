"""The pipeline's entry points: process an upload, recrop or rotate a kept master, suggest a
crop. Each checks the size cap and the header before Pillow opens anything, then hands the
opened picture to still.py or animation.py."""

from __future__ import annotations

import io

from PIL import Image, ImageFile

from web.services.imaging import decode as dec
from web.services.imaging import encode as enc
from web.services.imaging import faces
from web.services.imaging.animation import ANIMATED_FORMATS, animated
from web.services.imaging.edits import NO_EDITS, Edits
from web.services.imaging.header import Header, read_header
from web.services.imaging.retouch import retouched
from web.services.imaging.source import load_source, upright
from web.services.imaging.still import still
from web.services.imaging.types import (
    Crop,
    CropChoices,
    Limits,
    Processed,
    Suggestion,
    rejected,
)

DEFAULT_LIMITS = Limits()
_TURNS = {
    1: Image.Transpose.ROTATE_270,
    2: Image.Transpose.ROTATE_180,
    3: Image.Transpose.ROTATE_90,
}


PREVIEW_PX = 192  # the side of an edits preview (the largest avatar at 1x)


def process(
    data: bytes,
    *,
    crop: Crop | None = None,
    limits: Limits = DEFAULT_LIMITS,
    edits: Edits = NO_EDITS,
) -> Processed:
    """The upload pipeline: a refusal (ImageRejected), or the master and every variant."""
    return _run(data, crop, limits, edits, keep_master=False)


def recrop(
    master: bytes,
    *,
    crop: Crop | None,
    turns: int = 0,
    limits: Limits = DEFAULT_LIMITS,
    edits: Edits = NO_EDITS,
) -> Processed:
    """Variants for a new crop of a master made by process(); its bytes are kept as they are,
    unless `turns` quarter turns clockwise (negative: anticlockwise) rotate it first: then the
    rotated master is the new version's, and `crop` is in its coordinates."""
    if turns % 4:
        master = rotated(master, turns, limits)
    return _run(master, crop, limits, edits, keep_master=True)


def rotated(master: bytes, turns: int, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """A still master turned by quarter turns clockwise, encoded as a master again."""
    header = read_header(master, limits)
    if header.frames > 1 and header.format != "JPEG":
        raise rejected("no_rotate")
    with dec.pillow_errors(limits), Image.open(io.BytesIO(master)) as im:
        im.load()
        alpha = im.mode in ("RGBA", "LA") or "transparency" in im.info
        frame = im.convert("RGBA" if alpha else "RGB").transpose(_TURNS[turns % 4])
    return enc.still_master(frame, alpha).data


def suggest_crop(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> Suggestion:
    """The square process() cuts when the member gives none (on the largest face of a still
    picture, else the centre), found the same way but without encoding anything."""
    header, im = _opened(data, limits)
    with im:
        if header.frames > 1 and header.format in ANIMATED_FORMATS:
            source = load_source(im, im.size, header, None, limits)
        else:
            source, frame = upright(im, header, None, limits)
            source.around_face(frame)
    return Suggestion(source.crop, source.crop_source)


def preview(
    data: bytes, *, crop: Crop | None = None, edits: Edits, limits: Limits = DEFAULT_LIMITS
) -> bytes:
    """A small WebP of the square an upload of data with these edits would get: made by the
    same code as the variants, so that the preview shows what the upload will."""
    header, im = _opened(data, limits)
    with im:
        if header.frames > 1 and header.format in ANIMATED_FORMATS and edits.any:
            raise rejected("no_edits_animated")
        source, frame = upright(im, header, crop, limits)
    source.around_face(frame)
    square = enc.squares(frame.convert("RGB"), source.box(frame), (PREVIEW_PX,))[PREVIEW_PX]
    buf = io.BytesIO()
    retouched(square, edits).save(buf, "WEBP", quality=80, method=2)
    return buf.getvalue()


def crop_choices(master: bytes, *, turns: int = 0, limits: Limits = DEFAULT_LIMITS) -> CropChoices:
    """What the re-crop page offers for a master made by process(), turned `turns` quarter turns
    clockwise: its size and the square on its largest face (none in an animation, which keeps
    the centre as process() does)."""
    header, im = _opened(master, limits)
    with im:
        if header.frames > 1 and header.format in ANIMATED_FORMATS:
            face, size = None, im.size
        else:
            source, frame = upright(im, header, None, limits)
            if turns % 4:
                frame = frame.transpose(_TURNS[turns % 4])
            face, size = faces.face_crop(frame), source.size
    turned = turns % 2 == 1
    return CropChoices((size[1], size[0]) if turned else size, face)


def _opened(data: bytes, limits: Limits) -> tuple[Header, ImageFile.ImageFile]:
    if len(data) > limits.max_bytes:
        raise rejected("too_large", limits)
    header = read_header(data, limits)
    with dec.pillow_errors(limits):
        return header, dec.open_image(data, header, limits)


def _run(
    data: bytes, crop: Crop | None, limits: Limits, edits: Edits, *, keep_master: bool
) -> Processed:
    header, im = _opened(data, limits)
    with im:
        kept = data if keep_master else None
        if header.frames > 1 and header.format in ANIMATED_FORMATS:
            if edits.any:
                raise rejected("no_edits_animated")
            return animated(im, header, crop, limits, kept)
        return still(im, header, crop, limits, kept, edits)
