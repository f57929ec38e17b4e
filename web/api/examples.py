"""Worked examples for the API reference: for each operation a request and its answer, and a
curl command, as the OpenAPI document carries them (Swagger UI shows them beside each operation
at /schema/reference).

The answers are made by the bodies' own functions (web/api/bodies.py) from plain service data,
so an example's URLs follow the media URL scheme and its shape follows the schema (a unit test
holds every example to its schema). `Documented` is the operation class the API's handlers name
(Litestar's `operation_class`): it adds these to the operation Litestar generated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from litestar.openapi.spec import Example, OpenAPIResponse, Operation, Reference, RequestBody

from web.api.bodies import history_body, state_body, sync_body
from web.services.pictures import reads
from web.services.pictures.names import MediaUrls, PictureRef

MEMBER = 5
EARLIER = "0c5d2e7a9b814f3e8d6c1a2b3c4d5e6f"  # version 2's filename
CURRENT = "3f7a2c9e0b1d4e5f8a6b7c8d9e0f1a2b"  # version 3's
UPDATED_AT = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
CURL = 'curl -H "Authorization: Bearer $TOKEN" '
HOST = "https://pictures.example.org"


def _ref(name: str) -> PictureRef:
    return PictureRef(
        user_id=MEMBER, name=name, fallback_ext="jpg", placeholder="#6b8e8e", preview=""
    )


def _state(version: int | None, name: str | None, picture_version: int) -> reads.PictureState:
    return reads.PictureState(
        user_id=MEMBER,
        version=version,
        picture=_ref(name) if name else None,
        initials="AL",
        colour="hsl(138 55% 38%)",
        picture_version=picture_version,
        updated_at=UPDATED_AT,
    )


# The answers stay the bodies' Structs: Litestar's document drops a dict's None values, and a
# null is part of an answer's shape (no picture: `version`, `filename` and `urls` are null).
PICTURE = state_body(_state(3, CURRENT, 3), MediaUrls())
RESTORED = state_body(_state(2, EARLIER, 4), MediaUrls())
NO_PICTURE = state_body(_state(None, None, 4), MediaUrls())
SYNCED = sync_body(
    reads.SyncCheck(
        stale=True,
        current=_state(3, CURRENT, 3),
        synced_at=datetime(2026, 3, 2, 14, 31, tzinfo=UTC),
    ),
    MediaUrls(),
)
HISTORY = history_body(
    MEMBER,
    [
        reads.HistoryItem(
            version=version,
            picture=_ref(name),
            original_name=original,
            file_size=size,
            width=side,
            height=side,
            uploaded=datetime(2026, 3, day, 9, 0, tzinfo=UTC),
            is_active=version == 3,
            animated=False,
            recrop_of=recrop_of,
        )
        for version, name, original, size, side, day, recrop_of in (
            (3, CURRENT, "portrait.png", 402_118, 900, 2, 2),
            (2, EARLIER, "portrait.png", 402_118, 1200, 1, None),
        )
    ],
    MediaUrls(),
)


@dataclass(frozen=True)
class Worked:
    """One operation's examples: its request body's, its answers' (by status), a curl line."""

    curl: str
    request: dict[str, Any] | None = None
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)


WORKED = {
    "uploadPicture": Worked(
        curl=CURL + f"-F profilePicture=@me.jpg -F userId=5 {HOST}/api/profile/upload-picture",
        answers={"201": {"The new picture, version 3": PICTURE}},
    ),
    "importPicture": Worked(
        curl=CURL + "-H 'Content-Type: application/json' "
        """-d '{"userId": "5", "url": "https://example.org/photos/me.jpg"}' """
        f"{HOST}/api/profile/import-picture",
        request={"userId": "5", "url": "https://example.org/photos/me.jpg"},
        answers={"201": {"The fetched picture, version 3": PICTURE}},
    ),
    "getPicture": Worked(
        curl=CURL + f"{HOST}/api/profile/picture/5",
        answers={"200": {"A picture": PICTURE, "No picture: the default avatar": NO_PICTURE}},
    ),
    "getPictureHistory": Worked(
        curl=CURL + f"{HOST}/api/profile/picture/5/history",
        answers={"200": {"An upload and a re-crop of it": HISTORY}},
    ),
    "updatePicture": Worked(
        curl=CURL + "-X PUT -H 'Content-Type: application/json' "
        f"""-d '{{"userId": "5", "profilePicture": "{EARLIER}", """
        """"updatedAt": "2026-03-02T14:30:00Z"}' """
        f"{HOST}/api/profile/update-picture",
        request={"userId": "5", "profilePicture": EARLIER, "updatedAt": "2026-03-02T14:30:00Z"},
        answers={"200": {"Version 2 is the picture again": RESTORED}},
    ),
    "deletePicture": Worked(
        curl=CURL + "-X DELETE -H 'Content-Type: application/json' "
        f"""-d '{{"userId": "5"}}' {HOST}/api/profile/delete-picture""",
        request={"userId": "5"},
        answers={"200": {"No version left: the default avatar": NO_PICTURE}},
    ),
    "removePicture": Worked(
        curl=CURL + "-H 'Content-Type: application/json' "
        f"""-d '{{"userId": "5"}}' {HOST}/api/profile/remove-picture""",
        request={"userId": "5"},
        answers={"200": {"The default avatar; every version kept": NO_PICTURE}},
    ),
    "syncPicture": Worked(
        curl=CURL + "-H 'Content-Type: application/json' "
        f"""-d '{{"userId": "5", "profilePicture": "{EARLIER}", """
        """"syncTimestamp": "2026-03-01T09:15:00Z"}' """
        f"{HOST}/api/profile/sync-picture",
        request={
            "userId": "5",
            "profilePicture": EARLIER,
            "syncTimestamp": "2026-03-01T09:15:00Z",
        },
        answers={"200": {"The caller shows an older picture": SYNCED}},
    ),
}


@dataclass
class Documented(Operation):
    """An operation with its worked examples (WORKED, by operation id) added."""

    def __post_init__(self) -> None:
        worked = WORKED.get(self.operation_id or "")
        if worked is None:
            return
        sample = f"```sh\n{worked.curl}\n```"
        self.description = f"{self.description}\n\n{sample}" if self.description else sample
        if worked.request is not None:
            _add(self.request_body, {"Request": worked.request})
        for status, examples in worked.answers.items():
            _add((self.responses or {}).get(status), examples)


def _add(part: RequestBody | OpenAPIResponse | Reference | None, examples: dict[str, Any]) -> None:
    if part is None or isinstance(part, Reference) or not part.content:
        return
    for media in part.content.values():
        media.examples = {
            name: Example(summary=name, value=value) for name, value in examples.items()
        }
