"""The squares a picture may be cut to: the fractions a member types (or the cropper writes),
and the re-crop page's simple choices, which work without JavaScript: the square on the face
(when one is found), the whole short side against an edge or centred, or exact fractions.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from web.services import imaging
from web.services.imaging import cage
from web.services.imaging.header import read_header
from web.services.pictures import reads
from web.services.pictures.storage import MediaStore

CropFields = tuple[str, str, str]  # left, top, side: fractions of the picture, as typed
NO_CROP: CropFields = ("", "", "")
FACE, EXACT = "face", "exact"
CHOICES = (FACE, *imaging.POSITIONS, EXACT)  # the form's `cropChoice` values


@dataclass(frozen=True, slots=True)
class Option:
    """One square offered: its choice name and where it lies, in pixels of the picture."""

    name: str
    left: float
    top: float
    side: float


@dataclass(frozen=True, slots=True)
class Offer:
    """What the re-crop page shows: the picture's size (turned as asked), the squares to choose
    from (the face's first, when found) and the exact fractions' square, when they make one."""

    size: tuple[int, int]
    options: tuple[Option, ...]
    exact: Option | None
    face_found: bool

    def opening(self) -> str:
        """The choice the page opens on: the face when one is found; else the named square the
        exact fractions make (the version's own, or the one turned with the picture); else
        exact, or the centre when the fractions make none."""
        if self.face_found:
            return FACE
        if self.exact is None:
            return "centre"
        at = (self.exact.left, self.exact.top, self.exact.side)
        for option in self.options:
            if (
                max(
                    abs(a - b)
                    for a, b in zip((option.left, option.top, option.side), at, strict=True)
                )
                < 1
            ):
                return option.name
        return EXACT


def crop_from(fields: CropFields) -> imaging.Crop | None:
    """The typed fractions as a crop; all empty: none (the server's default square)."""
    if not any(field.strip() for field in fields):
        return None
    try:
        x, y, size = (float(field) for field in fields)
    except ValueError:
        raise imaging.rejected("bad_crop") from None
    return imaging.Crop(x, y, size)


def offer(
    session: Session,
    store: MediaStore,
    *,
    user_id: int,
    version: int,
    turns: int,
    fields: CropFields,
    limits: imaging.Limits,
) -> Offer:
    """The choices for one of the member's kept versions, its master turned `turns` quarter
    turns clockwise; `fields` are the exact fractions shown (the saved crop, or as typed)."""
    key, _mime = reads.master_of(session, store, user_id=user_id, version=version)
    found = cage.crop_choices(store.read(key), turns=turns, limits=limits)
    width, height = found.size
    named = [(FACE, found.face)] if found.face else []
    named += [
        (name, imaging.positioned(name, width, height))
        for name in imaging.positions_for(width, height)
    ]
    options = tuple(_option(name, crop, found.size) for name, crop in named)
    try:
        typed = crop_from(fields)
        exact = _option(EXACT, typed, found.size) if typed else None
    except imaging.ImageRejected:  # typed outside the picture: nothing to outline
        exact = None
    return Offer(found.size, options, exact, found.face is not None)


def chosen(
    master: bytes, choice: str, fields: CropFields, turns: int, limits: imaging.Limits
) -> imaging.Crop | None:
    """The crop a re-crop's `cropChoice` names on this master turned `turns` times. None is
    the pipeline's own default: the square on the face, else the centre (so "face")."""
    if choice in ("", EXACT):
        return crop_from(fields)
    if choice == FACE:
        return None
    header = read_header(master, limits)
    width, height = (header.height, header.width) if turns % 2 else (header.width, header.height)
    return imaging.positioned(choice, width, height)


def _option(name: str, crop: imaging.Crop, size: tuple[int, int]) -> Option:
    left, top, side = crop.box(*size)
    return Option(name, left, top, side)
