"""The avatar image pipeline: upload bytes in, a cleaned master and square variants out.

Pure functions (no HTTP, database or files), safe to run in a worker thread. In order: size cap,
format from the magic bytes, size and frame limits from the header, one Pillow plugin, decode
at the JPEG draft scale, EXIF orientation, 8-bit sRGB, a square crop (the member's, else one
on the largest face in a still picture, else the centre) resized in one chain from
large to small, and fresh encodes of the pixels only. The pieces: header (isobmff for
HEIF/AVIF), decode, faces, encode, types.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field

from PIL import Image, ImageFile

from web.services.imaging import decode as dec
from web.services.imaging import encode as enc
from web.services.imaging import faces
from web.services.imaging.header import Header, read_header, sniff_format
from web.services.imaging.types import (
    SIZES,
    VARIANT_PX,
    Ceilings,
    Crop,
    ImageRejected,
    Limits,
    Master,
    Processed,
    Suggestion,
    Variant,
    centre_crop,
    rejected,
)

__all__ = [
    "DEFAULT_LIMITS",
    "MIME_TYPES",
    "SIZES",
    "VARIANT_PX",
    "Ceilings",
    "Crop",
    "ImageRejected",
    "Limits",
    "Master",
    "Processed",
    "Suggestion",
    "Variant",
    "process",
    "recrop",
    "rejected",
    "rotated",
    "sniff_format",
    "suggest_crop",
]

DEFAULT_LIMITS = Limits()
_EXT = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "HEIF": "heic", "AVIF": "avif"}
MIME_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "HEIF": "image/heic",
    "AVIF": "image/avif",
}
# Formats whose frames are played as an animation; a HEIF's other images (a burst, a
# sequence track) are not: its primary image is the picture.
_ANIMATED_FORMATS = frozenset({"PNG", "GIF", "WEBP", "AVIF"})
# Browsers show GIF frames of 0-10 ms for 100 ms; WebP players would not, so keep the look.
_MIN_FRAME_MS = 10
_SHORT_FRAME_MS = 100

Box = tuple[float, float, float, float]


def process(data: bytes, *, crop: Crop | None = None, limits: Limits = DEFAULT_LIMITS) -> Processed:
    """The upload pipeline: a refusal (ImageRejected), or the master and every variant."""
    return _run(data, crop, limits, keep_master=False)


def recrop(
    master: bytes, *, crop: Crop | None, turns: int = 0, limits: Limits = DEFAULT_LIMITS
) -> Processed:
    """Variants for a new crop of a master made by process(); its bytes are kept as they are,
    unless `turns` quarter turns clockwise (negative: anticlockwise) rotate it first: then the
    rotated master is the new version's, and `crop` is in its coordinates."""
    if turns % 4:
        master = rotated(master, turns, limits)
    return _run(master, crop, limits, keep_master=True)


_TURNS = {
    1: Image.Transpose.ROTATE_270,
    2: Image.Transpose.ROTATE_180,
    3: Image.Transpose.ROTATE_90,
}


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
        if header.frames > 1 and header.format in _ANIMATED_FORMATS:
            source = _source(im, im.size, header, None, limits)
        else:
            source, frame = _upright(im, header, None, limits)
            source.around_face(frame)
    return Suggestion(source.crop, source.crop_source)


def _opened(data: bytes, limits: Limits) -> tuple[Header, ImageFile.ImageFile]:
    if len(data) > limits.max_bytes:
        raise rejected("too_large", limits)
    header = read_header(data, limits)
    with dec.pillow_errors(limits):
        return header, dec.open_image(data, header, limits)


def _run(data: bytes, crop: Crop | None, limits: Limits, *, keep_master: bool) -> Processed:
    header, im = _opened(data, limits)
    with im:
        kept = data if keep_master else None
        if header.frames > 1 and header.format in _ANIMATED_FORMATS:
            return _animated(im, header, crop, limits, kept)
        return _still(im, header, crop, limits, kept)


@dataclass(slots=True)
class _Source:
    """What every output is made from: the upright frame 0, its crop box, its provenance."""

    header: Header
    orientation: int
    size: tuple[int, int]  # the upright source at full resolution
    crop: Crop
    token: str
    crop_source: str  # "member", "face" or "centre": how the square was chosen

    def around_face(self, frame: Image.Image) -> None:
        """With no crop from the member, the square on the largest face in frame, if any."""
        if self.crop_source != "centre":
            return
        face = faces.face_crop(frame)
        if face is not None:
            self.crop, self.token, self.crop_source = face, face.token(*self.size), "face"

    def box(self, frame: Image.Image) -> Box:
        """The crop box in the coordinates of frame, a scaled-down decode of the source."""
        left, top, side = self.crop.box(*self.size)
        sx, sy = frame.width / self.size[0], frame.height / self.size[1]
        right, bottom = min((left + side) * sx, frame.width), min((top + side) * sy, frame.height)
        return left * sx, top * sy, right, bottom


def _source(
    im: Image.Image, raw_size: tuple[int, int], header: Header, crop: Crop | None, limits: Limits
) -> _Source:
    """Loads frame 0 (at the draft scale, if any) and reads its orientation."""
    with dec.pillow_errors(limits):
        im.load()
    orientation = dec.orientation(im)
    size = dec.oriented_size(raw_size, orientation)
    chosen, how = (crop, "member") if crop else (centre_crop(*size), "centre")
    return _Source(header, orientation, size, chosen, chosen.token(*size), how)


def _still(
    im: ImageFile.ImageFile, header: Header, crop: Crop | None, limits: Limits, kept: bytes | None
) -> Processed:
    source, frame = _upright(im, header, crop, limits)
    alpha = not dec.is_opaque(frame)
    if not alpha and frame.mode != "RGB":
        frame = frame.convert("RGB")
    # The master is the whole frame, whatever the crop: encoded while the face is looked for.
    master = None if kept else enc.threads().submit(enc.still_master, frame, alpha)
    source.around_face(frame)
    images = enc.squares(frame, source.box(frame), VARIANT_PX)
    variants = enc.still_variants(images, alpha)
    kept_master = _kept(kept, header) if kept else None
    return _processed(source, kept_master or _done(master), alpha, images, variants)


def _done(master: Future[Master] | None) -> Master:
    assert master is not None  # made above whenever no master is kept
    return master.result()


def _upright(
    im: ImageFile.ImageFile, header: Header, crop: Crop | None, limits: Limits
) -> tuple[_Source, Image.Image]:
    """Frame 0 decoded (a JPEG at its draft scale), sRGB and upright, and the square to cut
    (the member's or the centre: `around_face` may move it)."""
    raw_size = im.size
    if header.format == "JPEG":
        side = (crop.size if crop else 1.0) * min(raw_size)
        dec.draft(im, side, max(VARIANT_PX))
    source = _source(im, raw_size, header, crop, limits)
    with dec.pillow_errors(limits):
        icc = im.info.get("icc_profile")
        frame = enc.clean(dec.upright(dec.to_srgb(im, icc), source.orientation))
    return source, frame


def _kept(data: bytes, header: Header) -> Master:
    fmt = header.format
    animated = header.frames > 1
    # bytes(): in a cage worker, data is a mapping of the upload (handover.taken), not kept.
    return Master(bytes(data), _EXT[fmt], MIME_TYPES[fmt], header.width, header.height, animated)


def _processed(
    source: _Source,
    master: Master,
    alpha: bool,
    images: dict[int, Image.Image],
    variants: list[Variant],
) -> Processed:
    digest = hashlib.sha256(master.data)
    digest.update(b"\0crop:" + source.token.encode())
    return Processed(
        digest=digest.hexdigest()[:32],
        source_format=source.header.format,
        source_width=source.size[0],
        source_height=source.size[1],
        orientation_applied=source.orientation,
        animated=any(v.animated for v in variants),
        has_alpha=alpha,
        placeholder=enc.placeholder(images[min(images)]),
        master=master,
        variants=tuple(sorted(variants, key=lambda v: (v.px, v.animated, v.ext))),
        crop=source.crop,
        crop_source=source.crop_source,
    )


@dataclass(slots=True)
class _Frames:
    """Each frame of an animation, already cut down to the sizes it will be encoded at."""

    stills: dict[int, Image.Image] = field(default_factory=dict)  # frame 0, every size
    durations: list[int] = field(default_factory=list)
    by_px: dict[int, list[Image.Image]] = field(default_factory=dict)
    masters: list[Image.Image] = field(default_factory=list)
    alpha: bool = False

    def add(self, frame: Image.Image, box: Box, duration: int, *, master: bool) -> None:
        if not self.stills:
            self.stills = enc.squares(frame, box, VARIANT_PX)
        self.alpha = self.alpha or frame.mode == "RGBA"
        self.durations.append(duration if duration > _MIN_FRAME_MS else _SHORT_FRAME_MS)
        for px, image in enc.squares(frame, box, enc.ANIMATED_PX, halve=True).items():
            self.by_px.setdefault(px, []).append(image)
        if master:
            self.masters.append(enc.fit(frame, enc.ANIMATED_MASTER_SIDE))


def _animated(
    im: ImageFile.ImageFile, header: Header, crop: Crop | None, limits: Limits, kept: bytes | None
) -> Processed:
    source = _source(im, im.size, header, crop, limits)
    loop = int(im.info.get("loop", 1))  # a GIF without a loop count plays once
    frames = _Frames()
    for frame in _frames(im, source, limits):
        frames.add(frame, source.box(frame), int(im.info.get("duration", 0)), master=not kept)
    if kept:
        master = _kept(kept, header)
    else:
        master = enc.animated_master(frames.masters, frames.durations, loop)
    variants = enc.still_variants(frames.stills, frames.alpha)
    variants += enc.animated_variants(frames.by_px, frames.durations, loop)
    return _processed(source, master, frames.alpha, frames.stills, variants)


def _frames(im: ImageFile.ImageFile, source: _Source, limits: Limits) -> Iterator[Image.Image]:
    """Every frame upright and sRGB, on the canvas of frame 0, decoded one at a time.

    A frame is RGBA only when it has transparent pixels: resizing and encoding RGB is twice
    as fast, and most animations are opaque.
    """
    icc = im.info.get("icc_profile")
    for index in range(source.header.frames):
        with dec.pillow_errors(limits):
            if not _seek(im, index):
                return
            im.load()  # now, while errors are refusals: later steps would load lazily
            frame = dec.upright(dec.to_srgb(im, icc), source.orientation)
        frame = frame.copy() if frame is im else frame  # the next seek reuses im
        if dec.is_opaque(frame) and frame.mode != "RGB":
            frame = frame.convert("RGB")
        if frame.size != source.size:
            # A GIF frame may grow the canvas past the logical screen: keep the first canvas.
            frame = frame.crop((0, 0, *source.size))
        yield enc.clean(frame)


def _seek(im: ImageFile.ImageFile, index: int) -> bool:
    """Moves to frame index; False past the last frame a short file really holds."""
    try:
        im.seek(index)
    except EOFError:
        if index == 0:
            raise
        return False
    return True
