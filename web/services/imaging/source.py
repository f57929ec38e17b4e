"""What every output of the pipeline is made from: frame 0 loaded (a JPEG at its draft scale),
its EXIF orientation, its upright size, and the square to cut from it (the member's, else one
on the largest face, else the centre)."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageFile

from web.services.imaging import decode as dec
from web.services.imaging import encode as enc
from web.services.imaging import faces
from web.services.imaging.header import Header
from web.services.imaging.types import VARIANT_PX, Crop, Limits, centre_crop

Box = tuple[float, float, float, float]


@dataclass(slots=True)
class Source:
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


def load_source(
    im: Image.Image, raw_size: tuple[int, int], header: Header, crop: Crop | None, limits: Limits
) -> Source:
    """Loads frame 0 (at the draft scale, if any) and reads its orientation."""
    with dec.pillow_errors(limits):
        im.load()
    orientation = dec.orientation(im)
    size = dec.oriented_size(raw_size, orientation)
    chosen, how = (crop, "member") if crop else (centre_crop(*size), "centre")
    return Source(header, orientation, size, chosen, chosen.token(*size), how)


def upright(
    im: ImageFile.ImageFile, header: Header, crop: Crop | None, limits: Limits
) -> tuple[Source, Image.Image]:
    """Frame 0 decoded (a JPEG at its draft scale), sRGB and upright, and the square to cut
    (the member's or the centre: `around_face` may move it)."""
    raw_size = im.size
    if header.format == "JPEG":
        side = (crop.size if crop else 1.0) * min(raw_size)
        dec.draft(im, side, max(VARIANT_PX))
    source = load_source(im, raw_size, header, crop, limits)
    with dec.pillow_errors(limits):
        icc = im.info.get("icc_profile")
        frame = enc.clean(dec.upright(dec.to_srgb(im, icc), source.orientation))
    return source, frame
