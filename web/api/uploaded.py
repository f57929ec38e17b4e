"""The answer of the calls that make a new version (upload-picture, import-picture): the new
state, as every call that changes the picture answers, and `warnings`, what the member should
know about the picture that was kept."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta, Struct

from web.api.bodies import PictureState, state_body
from web.services.imaging import RECOMMENDED_MIN_PX
from web.services.pictures.names import MediaUrls
from web.services.pictures.uploads import Uploaded


class PictureWarning(Struct):
    """Something to know about the new version; it was kept all the same."""

    code: Annotated[
        str,
        Meta(
            description=f"`small_picture`: the square cut from the picture is under "
            f"{RECOMMENDED_MIN_PX}×{RECOMMENDED_MIN_PX} pixels, the largest avatar's 2x size, "
            "so it looks blurred there.",
            examples=["small_picture"],
        ),
    ]
    message: Annotated[str, Meta(description="The same, as a sentence for the member.")]


class NewPicture(PictureState, rename="camel"):
    """The member's picture after the call (as `GET /api/profile/picture/{userId}` answers),
    and `warnings` about the new version (empty when there are none)."""

    warnings: list[PictureWarning] = msgspec.field(default_factory=list)


def new_picture_body(done: Uploaded, media: MediaUrls) -> NewPicture:
    state = msgspec.structs.asdict(state_body(done.state, media))
    warnings = [PictureWarning(code=w.code, message=w.message) for w in done.warnings]
    return NewPicture(**state, warnings=warnings)
