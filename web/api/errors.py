"""The JSON API's errors: RFC 9457 problem details (`application/problem+json`), and their docs.

The handlers are set on the API controller, so they take precedence over the app's HTML answers
to 413 and 429; `routing_problem` answers the app's 404/405 under /api/.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.exceptions.responses import create_exception_response
from litestar.openapi.datastructures import ResponseSpec

from web.api.bodies import (
    ConflictProblem,
    FieldError,
    Problem,
    ServerProblem,
    ValidationProblem,
    state_body,
)
from web.plumbing.body_limit import FORM_MAX_BYTES, body_limit
from web.plumbing.deps import media_urls_of, settings_of
from web.plumbing.logs import log_failure
from web.services import imaging
from web.services.pictures import idempotency
from web.services.pictures.access import PictureError
from web.services.pictures.changes import StaleUpdate

PROBLEM_JSON = "application/problem+json"


def problem(status: int, detail: str, headers: dict[str, str] | None = None) -> Response[Problem]:
    body = Problem(status=status, title=HTTPStatus(status).phrase, detail=detail)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def http_problem(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    headers = dict(error.headers or {})
    status = error.status_code
    detail = _DETAILS.get(status, error.detail)
    if status == 413 and body_limit(request.scope) > FORM_MAX_BYTES:
        # An upload past the body limit, refused before the service could say it.
        limit = settings_of(request.app.state).max_upload_bytes
        detail = imaging.rejected("too_large", imaging.Limits(max_bytes=limit)).message
    elif status == 413:
        detail = f"The body is larger than {FORM_MAX_BYTES // 1024} KiB."
    if detail == "Invalid multipart/form-data":  # Litestar's words for a missing file, too
        detail = "Send multipart/form-data with a profilePicture file and a userId field."
    if isinstance(error, ValidationException):
        return _validation_problem(error, headers)
    return problem(status, detail, headers)


def _validation_problem(error: ValidationException, headers: dict[str, str]) -> Response[Any]:
    extra = error.extra if isinstance(error.extra, list) else []
    errors = [
        FieldError(
            message=str(item.get("message", "")),
            key=_str_or_none(item.get("key")),
            source=_str_or_none(item.get("source")),
        )
        for item in extra
        if isinstance(item, dict)
    ]
    body = ValidationProblem(
        status=400, title="Bad Request", detail=_detail(error.detail), errors=errors
    )
    return Response(body, status_code=400, media_type=PROBLEM_JSON, headers=headers)


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _detail(detail: str) -> str:
    # Litestar's details name the handler ("Validation failed for POST /api/..."): keep the verb.
    return detail.split(" for ", 1)[0] + "." if detail.startswith("Validation failed") else detail


_DETAILS = {
    404: "There is nothing at this path; /schema lists the API's paths.",
    405: "This path does not take that method.",
}


def service_problem(_: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    if isinstance(error, StaleUpdate):
        body = ConflictProblem(
            status=409,
            title="Conflict",
            detail="The picture changed after the given updatedAt; `current` is what it is now.",
            current=state_body(error.current, media_urls_of(_.app.state)),
        )
        return Response(body, status_code=409, media_type=PROBLEM_JSON)
    if isinstance(error, imaging.ImageRejected | PictureError | idempotency.IdempotencyError):
        # 503: the virus scanner is down, and a retry soon may pass (as on the form path).
        retry = {"Retry-After": "30"} if error.status == 503 else None
        return problem(error.status, error.message, retry)
    return internal_problem(_, error)


def internal_problem(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    error_id = log_failure(request.scope, error)
    body = ServerProblem(
        status=500,
        title="Internal Server Error",
        detail=f"Something went wrong on our side; it has been logged as error {error_id}.",
        errorId=error_id,
    )
    return Response(body, status_code=500, media_type=PROBLEM_JSON)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    # Status keys win over classes in Litestar's lookup, and the app maps 413 and 429 to its
    # HTML answers: the API claims each status it can answer.
    **dict.fromkeys((400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 503), http_problem),
    HTTPException: http_problem,
    imaging.ImageRejected: service_problem,
    PictureError: service_problem,
    idempotency.IdempotencyError: service_problem,
    StaleUpdate: service_problem,
    500: internal_problem,
    Exception: internal_problem,
}


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


def routing_problem(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    """App-wide 404/405: problem details under /api/, Litestar's usual answer elsewhere."""
    if request.url.path.startswith("/api/"):
        return http_problem(request, error)
    return create_exception_response(request, error)
