"""The API's multipart forms."""

from __future__ import annotations

from litestar.datastructures import UploadFile
from msgspec import Struct

from web.api.bodies import UserIdDigits
from web.api.fields import BackgroundColorField, BackgroundField, EnhanceField


class UploadForm(Struct, rename="camel"):
    """multipart/form-data: the picture file and the member it is for, and the edits to apply
    to its variants (`enhance`, `background`, `backgroundColor`; the original is kept as sent)."""

    profile_picture: UploadFile
    user_id: UserIdDigits
    enhance: EnhanceField = ""
    background: BackgroundField = ""
    background_color: BackgroundColorField = ""
