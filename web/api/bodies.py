"""The JSON API's bodies, in the seed's camelCase: plain msgspec Structs, no sessions, no ORM.

The OpenAPI schema at /schema is generated from these, so their names, types, constraints
and docstrings are the contract integrators read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar.openapi.spec import Example, OpenAPIType, Schema
from litestar.params import KwargDefinition
from msgspec import Meta, Struct

from db.models import MAX_ID
from web.api.fields import EditLabels, digits_up_to
from web.services.imaging.types import SIZES
from web.services.pictures import reads
from web.services.pictures.names import MediaUrls, PictureRef

PROBLEM_JSON = "application/problem+json"  # RFC 9457's media type

# Ids stay within a 32-bit INTEGER column on every backend (MAX_ID); bigger ones are refused with
# a 400, not passed on to the database.
# The seed's contract types userId as a String; numbers are accepted too. Answers carry a string.


_ID_DIGITS = digits_up_to(MAX_ID)
UserId = Annotated[
    Annotated[int, Meta(ge=1, le=MAX_ID)] | Annotated[str, Meta(pattern=_ID_DIGITS)],
    # Litestar drops the members' constraints from a union's schema: spelled out here.
    KwargDefinition(
        description=f"The member's id: a string of digits (as the seed has it) or a number, "
        f"1 to {MAX_ID}.",
        examples=[Example(value="5")],
        schema_extra={
            "one_of": [
                Schema(type=OpenAPIType.STRING, pattern=_ID_DIGITS),
                Schema(type=OpenAPIType.INTEGER, minimum=1, maximum=MAX_ID),
            ]
        },
    ),
]
MemberIdText = Annotated[str, Meta(description="The member's id.", examples=["5"])]
# A form field is text: a multipart body's userId is the digits only (JSON bodies: UserId).
UserIdDigits = Annotated[
    str,
    Meta(pattern=_ID_DIGITS, description=f"The member's id, 1 to {MAX_ID}.", examples=["5"]),
]
# A version's files are named by a content hash: 32 lower-case hex digits.
Filename = Annotated[
    str,
    Meta(
        pattern="^[0-9a-f]{32}$",
        description="A version's filename (its content hash), as `filename` gives it.",
        examples=["3f7a2c9e0b1d4e5f8a6b7c8d9e0f1a2b"],
    ),
]
Timestamp = Annotated[
    datetime, Meta(tz=True, description="An RFC 3339 date-time with its UTC offset.")
]


class SizeUrls(Struct):
    """One avatar size: the JPEG (PNG when transparent) and WebP files, at 1x and 2x density."""

    x1: Annotated[str, Meta(description="JPEG/PNG, 1x.")] = msgspec.field(name="1x")
    x2: Annotated[str, Meta(description="JPEG/PNG, 2x.")] = msgspec.field(name="2x")
    webp1x: Annotated[str, Meta(description="WebP, 1x.")]
    webp2x: Annotated[str, Meta(description="WebP, 2x.")]


class PictureUrls(Struct):
    """The files of a version, per avatar size (24, 40, 96 and 192 CSS pixels).

    Paths on this server; they never change (the name is a content hash) and are cached for a
    year.
    """

    xs: SizeUrls
    sm: SizeUrls
    md: SizeUrls
    lg: SizeUrls


class DefaultAvatar(Struct):
    """What pages draw when the member has no picture: initials on a colour."""

    initials: str
    colour: Annotated[str, Meta(description="A CSS colour, e.g. `hsl(137 55% 38%)`.")]


class PictureState(Struct, rename="camel"):
    """A member's current picture. `version`, `filename` and `urls` are null for the default
    avatar. `pictureVersion` goes up on every change (upload, restore, delete) and is the
    version the live events carry.
    """

    user_id: MemberIdText
    version: int | None
    filename: str | None
    urls: PictureUrls | None
    default_avatar: DefaultAvatar
    picture_version: int
    updated_at: datetime


class HistoryEntry(Struct, rename="camel"):
    """One kept (not deleted) version of a member's picture. `originalName` is the name of the
    file the member chose (for display), `fileSize` the bytes of this version's own source: the
    file uploaded, or for a re-crop (`recropOf`: the version it was cut from, null for an
    upload) the kept copy it was cut from."""

    version: int
    filename: str
    original_name: str
    file_size: int
    width: int
    height: int
    uploaded_at: datetime
    is_active: bool
    animated: bool
    urls: PictureUrls
    recrop_of: int | None = None
    edits: EditLabels = msgspec.field(default_factory=list)


class History(Struct, rename="camel"):
    """Every kept version, newest first."""

    user_id: MemberIdText
    versions: list[HistoryEntry]


class UpdatePicture(Struct, rename="camel"):
    """Make a version the picture again. `updatedAt` is the `updatedAt` the caller last saw:
    when the picture has changed since, nothing is done and the answer is 409 with the current
    state.
    """

    user_id: UserId
    profile_picture: Filename
    updated_at: Timestamp


class ImportPicture(Struct, rename="camel"):
    """Fetch the picture at `url` and make it the member's picture, as uploading it would."""

    user_id: UserId
    url: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=2048,
            description="An http:// or https:// link to a picture on the public internet.",
            examples=["https://example.org/photos/me.jpg"],
        ),
    ]


class DeletePicture(Struct, rename="camel"):
    """Soft-delete the member's current picture; the previous version (or the default avatar)
    takes its place.
    """

    user_id: UserId


class RemovePicture(Struct, rename="camel"):
    """Show the default avatar instead of a picture; every version stays in the history."""

    user_id: UserId


class SyncPicture(Struct, rename="camel"):
    """What the caller shows: a filename (null: the default avatar), as of `syncTimestamp`."""

    user_id: UserId
    profile_picture: Filename | None
    sync_timestamp: Timestamp


class SyncAnswer(Struct, rename="camel"):
    """`stale` is true when the caller shows another picture, or knows of an older state."""

    stale: bool
    current: PictureState
    synced_at: datetime


class FieldError(Struct):
    """One invalid part of the request."""

    message: str
    key: str | None = None
    source: str | None = None


class Problem(Struct):
    """An error, as RFC 9457 problem details (`application/problem+json`)."""

    status: int
    title: str
    detail: str
    type: str = "about:blank"


class ServerProblem(Struct):
    """An error of ours (500): the traceback is in the server's log under `errorId`."""

    status: int
    title: str
    detail: str
    errorId: str  # noqa: N815  (camelCase, as every body)
    type: str = "about:blank"


class ValidationProblem(Struct):
    """A request that does not match this schema: the problem and each invalid field."""

    status: int
    title: str
    detail: str
    type: str = "about:blank"
    errors: list[FieldError] = msgspec.field(default_factory=list)


class ConflictProblem(Struct):
    """The picture changed since the caller's `updatedAt`: `current` is the state now."""

    status: int
    title: str
    detail: str
    current: PictureState
    type: str = "about:blank"


# --- bodies from the services' plain data --------------------------------------------------


def picture_urls(ref: PictureRef, media: MediaUrls) -> PictureUrls:
    def size(px: int) -> SizeUrls:
        return SizeUrls(
            x1=media(ref, px),
            x2=media(ref, px * 2),
            webp1x=media(ref, px, "webp"),
            webp2x=media(ref, px * 2, "webp"),
        )

    return PictureUrls(**{name: size(px) for name, px in SIZES.items()})


def state_body(state: reads.PictureState, media: MediaUrls) -> PictureState:
    ref = state.picture
    return PictureState(
        user_id=str(state.user_id),
        version=state.version,
        filename=ref.name if ref else None,
        urls=picture_urls(ref, media) if ref else None,
        default_avatar=DefaultAvatar(initials=state.initials, colour=state.colour),
        picture_version=state.picture_version,
        updated_at=state.updated_at,
    )


def history_body(user_id: int, items: list[reads.HistoryItem], media: MediaUrls) -> History:
    entries = [
        HistoryEntry(
            version=item.version,
            filename=item.picture.name,
            original_name=item.original_name,
            file_size=item.file_size,
            width=item.width,
            height=item.height,
            uploaded_at=item.uploaded,
            is_active=item.is_active,
            animated=item.animated,
            urls=picture_urls(item.picture, media),
            recrop_of=item.recrop_of,
            edits=list(item.edits),
        )
        for item in items
    ]
    return History(user_id=str(user_id), versions=entries)


def sync_body(check: reads.SyncCheck, media: MediaUrls) -> SyncAnswer:
    return SyncAnswer(
        stale=check.stale, current=state_body(check.current, media), synced_at=check.synced_at
    )
