"""The JSON API's errors as its OpenAPI document describes them: what each status means for an
operation. The answers themselves are web/errors.py's (RFC 9457 problem details)."""

from __future__ import annotations

from typing import Any

from litestar.openapi.datastructures import ResponseSpec

from web.api.bodies import PROBLEM_JSON, ConflictProblem, Problem, ValidationProblem

ERROR_TEXT = {
    400: "The request does not match this schema (see `errors`).",
    401: "No token, or a token that is unknown or revoked. The answer carries "
    '`WWW-Authenticate: Bearer realm="api"`.',
    403: "The token's member is not `userId` and is not an admin. The attempt is audited.",
    404: "There is no member `userId` (only an admin's token can tell).",
    409: "Another change to this member's picture came first; retry.",
    413: "The file is larger than the upload limit.",
    415: "The file is not a JPEG, PNG, GIF, WebP, HEIC/HEIF or AVIF picture (judged by its bytes).",
    422: "The picture cannot be used: truncated or damaged, too many pixels or frames, or "
    "flagged by the virus scanner.",
    429: "Too many calls without a valid token from this address (60 a minute), or, for an "
    "upload, too many uploads by the member (`UPLOADS_PER_MINUTE`); `Retry-After` says how many "
    "seconds to wait.",
    503: "The database (or, for an upload, the virus scanner when one is configured, or the "
    "picture bucket when `MEDIA_STORE` names one) can't be reached just now; retry after "
    "`Retry-After`.",
}


IMPORT_TEXTS = {
    409: "A request with this Idempotency-Key is still running, or another change took the "
    "version number first; retry.",
    413: "The picture at the link is larger than the upload limit.",
    415: "The link is not a picture (its bytes decide, as for an upload).",
    422: "The link cannot be fetched: not http(s), not a public address, too many redirects, "
    "an error status, unreachable or a broken answer; or the picture is refused like an "
    "upload; or the Idempotency-Key was used for other bytes.",
    429: ERROR_TEXT[429] + " Or a fetch for this member is still running.",
    504: "The link did not answer within the fetch deadline.",
}


def error_docs(*statuses: int, texts: dict[int, str] | None = None) -> dict[int, ResponseSpec]:
    """OpenAPI responses for the error statuses an operation can answer (400, 401, 403, 429, the
    calls without a valid token, and 503, the database down, are every operation's); `texts`
    says what a status means for this operation."""
    wording = ERROR_TEXT | (texts or {})
    docs: dict[int, ResponseSpec] = {}
    for status in (400, 401, 403, *statuses, 429, 503):
        container: Any = ValidationProblem if status == 400 else Problem
        docs[status] = ResponseSpec(
            container,
            description=wording[status],
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
    return docs


def conflict_doc(text: str) -> ResponseSpec:
    return ResponseSpec(
        ConflictProblem, description=text, media_type=PROBLEM_JSON, generate_examples=False
    )
