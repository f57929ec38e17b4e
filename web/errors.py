"""Every error's answer, in one place: one map from what went wrong (the database or the picture
bucket away, a limit reached, a refused picture, an HTTP error, a bug) to its status, the
sentence a person reads and its headers (`answer_of`), said one of two ways by one rule
(`wants_json`): RFC 9457 problem details (`application/problem+json`) to the JSON API, a page
to everything else.

Every exception of every route comes here (`exception_handlers`, the app's only handler). The
app gives it the routes' own pages for some refusals (a member-only page without a member, a
form shown again with its refusal); the generic pages are here: 403 (a stale form), 503 (the
database or the bucket away) and 500 (the traceback logged under a short id the client is
shown, never the traceback: web/plumbing/logs.py `log_failure`).

The rule and the waits are web/plumbing/replies.py's, below every layer that refuses: the
negotiation rule `wants_json`, the RETRY_AFTER_* seconds (a throttle counts its own) and the
one place the Retry-After header is built, for this map and for whoever answers outside it (the
sign-in forms, the stream, the server's connection cap).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.exceptions.responses import create_exception_response
from litestar.response import Template
from litestar.types import ExceptionHandlersMap
from sqlalchemy.exc import SQLAlchemyError

from db.unavailable import unavailable_cause
from web.api.bodies import (
    PROBLEM_JSON,
    ConflictProblem,
    FieldError,
    Problem,
    ServerProblem,
    ValidationProblem,
    state_body,
)
from web.overrides.csrf_token import page_token
from web.plumbing.body_limit import FORM_MAX_BYTES, body_limit
from web.plumbing.deps import media_urls_of, provide_viewer, settings_of
from web.plumbing.logs import log_failure
from web.plumbing.replies import (
    RETRY_AFTER_DATABASE,
    RETRY_AFTER_STORE,
    retry_after,
    service_headers,
    wants_json,
)
from web.plumbing.throttle import Throttled
from web.services import imaging
from web.services.fetch import FetchError
from web.services.pictures import idempotency
from web.services.pictures.access import PictureError
from web.services.pictures.changes import StaleUpdate
from web.services.pictures.storage import StoreUnavailable

# No promise that nothing changed: a commit can succeed just before the read after it fails.
DATABASE_DOWN = "The site can't reach its database just now; try again in a few seconds."
STORE_DOWN = "The picture storage can't be reached just now; try again in a few seconds."
STORE_DOWN_NOTHING_SAVED = (
    "The picture storage can't be reached just now, so nothing was saved; "
    "try again in a few seconds."
)
STALE = "The picture changed after the given updatedAt; `current` is what it is now."
CSRF_FAILED = "CSRF token verification failed"  # Litestar's CSRF middleware's detail
# A person's page for the HTTP errors a link or a typed address meets (the others keep
# Litestar's answer: they come from forms and scripts, which show or read the detail).
PAGES_FOR = {
    404: ("Page not found", "There is nothing at this address: it may be mistyped, or gone."),
    405: ("Not here", "This address does not answer that kind of request."),
}
# A link not fetched: the link is the client's to fix (422; a malformed one too, as the body
# itself was well-formed), but for what the link led to: not a picture, too large, too slow.
FETCH_STATUS = {"not_a_picture": 415, "too_large": 413, "timeout": 504}
_API_DETAILS = {
    404: "There is nothing at this path; /schema lists the API's paths.",
    405: "This path does not take that method.",
}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    """What an error answers: its status, the sentence a person reads, and its headers."""

    status: int
    detail: str
    headers: dict[str, str] = field(default_factory=dict)


def answer_of(request: Request[Any, Any, Any], error: Exception) -> Answer | None:
    """The one map: what each kind of error answers; None for a failure (a 500, a bug)."""
    if isinstance(error, SQLAlchemyError):
        return _database_away(request, error)
    if isinstance(error, StoreUnavailable):
        return _store_away(request, error)
    if isinstance(error, Throttled):
        return Answer(429, error.detail, retry_after(error.retry_after))
    if isinstance(error, StaleUpdate):
        return Answer(409, STALE)
    if isinstance(error, FetchError):
        return Answer(fetch_status(error), error.message)
    if isinstance(error, imaging.ImageRejected | PictureError | idempotency.IdempotencyError):
        return Answer(error.status, error.message, service_headers(error.status))
    if isinstance(error, HTTPException) and error.status_code != 500:
        return Answer(error.status_code, _detail_of(request, error), dict(error.headers or {}))
    return None


def fetch_status(error: FetchError) -> int:
    """The status of a link that was not fetched (the form shows it with the same status)."""
    return FETCH_STATUS.get(error.code, 422)


def _database_away(request: Request[Any, Any, Any], error: SQLAlchemyError) -> Answer | None:
    cause = unavailable_cause(error)
    if cause is None:  # a bug or a conflict, not an outage: the usual 500
        return None
    log.warning("database unavailable: %s %s: %s", request.method, request.url.path, cause)
    return Answer(503, DATABASE_DOWN, _outage(RETRY_AFTER_DATABASE))


def _store_away(request: Request[Any, Any, Any], error: StoreUnavailable) -> Answer:
    log.warning("media store unavailable: %s %s: %s", request.method, request.url.path, error)
    sentence = STORE_DOWN_NOTHING_SAVED if saving(request) else STORE_DOWN
    return Answer(503, sentence, _outage(RETRY_AFTER_STORE))


def _outage(seconds: int) -> dict[str, str]:
    return {**retry_after(seconds), "Cache-Control": "no-store"}


def saving(request: Request[Any, Any, Any]) -> bool:
    """Whether the request asked for a change (so an outage saved nothing)."""
    return request.method not in ("GET", "HEAD")


def _detail_of(request: Request[Any, Any, Any], error: HTTPException) -> str:
    """An HTTP error's sentence, in the API's words where Litestar's would puzzle a caller."""
    status = error.status_code
    detail = _API_DETAILS.get(status, error.detail)
    if status == 413 and body_limit(request.scope) > FORM_MAX_BYTES:
        # An upload past the body limit, refused before the service could say it.
        limit = settings_of(request.app.state).max_upload_bytes
        detail = imaging.rejected("too_large", imaging.Limits(max_bytes=limit)).message
    elif status == 413:
        detail = f"The body is larger than {FORM_MAX_BYTES // 1024} KiB."
    if detail == "Invalid multipart/form-data":  # Litestar's words for a missing file, too
        detail = "Send multipart/form-data with a profilePicture file and a userId field."
    return detail


# A route's own page for a refusal (None: the generic one), keyed like Litestar's handlers:
# by the status of an HTTP error, else by the error's class.
Page = Callable[[Request[Any, Any, Any], Answer], Response[Any] | None]
Pages = Mapping[int | type[Exception], Page]


class ErrorHandler:
    """The app's one exception handler: the map, then problem+json or a page."""

    def __init__(self, pages: Pages) -> None:
        self.pages = pages

    def __call__(self, request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
        answer = answer_of(request, error)
        if answer is None:
            return failed(request, error)
        if wants_json(request.url.path):
            return _problem_of(request, error, answer)
        page = self._page_for(error)
        if page is not None and (response := page(request, answer)) is not None:
            return response
        return _page_of(request, error, answer)

    def _page_for(self, error: Exception) -> Page | None:
        if isinstance(error, HTTPException) and error.status_code in self.pages:
            return self.pages[error.status_code]
        return next((self.pages[kind] for kind in type(error).__mro__ if kind in self.pages), None)


def exception_handlers(pages: Pages) -> ExceptionHandlersMap:
    """The app's `exception_handlers`: every error, of every route, through ErrorHandler."""
    return {Exception: ErrorHandler(pages)}


def problem(status: int, detail: str, headers: dict[str, str] | None = None) -> Response[Problem]:
    body = Problem(status=status, title=HTTPStatus(status).phrase, detail=detail)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _problem_of(request: Request[Any, Any, Any], error: Exception, answer: Answer) -> Response[Any]:
    if isinstance(error, ValidationException):
        return _validation_problem(error, answer.headers)
    if isinstance(error, StaleUpdate):
        current = state_body(error.current, media_urls_of(request.app.state))
        body = ConflictProblem(status=409, title="Conflict", detail=answer.detail, current=current)
        return Response(body, status_code=409, media_type=PROBLEM_JSON)
    return problem(answer.status, answer.detail, answer.headers or None)


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
        status=400, title="Bad Request", detail=_verb_only(error.detail), errors=errors
    )
    return Response(body, status_code=400, media_type=PROBLEM_JSON, headers=headers)


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _verb_only(detail: str) -> str:
    # Litestar's details name the handler ("Validation failed for POST /api/..."): keep the verb.
    return detail.split(" for ", 1)[0] + "." if detail.startswith("Validation failed") else detail


def _page_of(request: Request[Any, Any, Any], error: Exception, answer: Answer) -> Response[Any]:
    if isinstance(error, HTTPException) and answer.status == 403:
        return _forbidden(request, answer)
    if isinstance(error, HTTPException) and answer.status in PAGES_FOR:
        heading, sentence = PAGES_FOR[answer.status]
        context = {"heading": heading, "sentence": sentence}
        return Template("http_error.html", context=context, status_code=answer.status)
    if isinstance(error, HTTPException):
        return create_exception_response(request, error)  # Litestar's usual answer
    sentence, headers = answer.detail, answer.headers
    if isinstance(error, StoreUnavailable) and _a_file(request.url.path):
        return Response(sentence, status_code=503, media_type="text/plain", headers=headers)
    if isinstance(error, SQLAlchemyError | StoreUnavailable):
        # Rendered without the database: no viewer, no flashes.
        context = {"sentence": sentence}
        return Template("unavailable.html", context=context, status_code=503, headers=headers)
    return failed(request, error)  # a service's refusal its page let through: a bug


def _a_file(path: str) -> bool:
    """A picture file, for an <img>: no page."""
    return path.startswith("/media/") or path.endswith("/master")


def _forbidden(request: Request[Any, Any, Any], answer: Answer) -> Response[Any]:
    """403 for a browser, never JSON: usually a form whose CSRF token no longer matches (a page
    left open across a sign-out, another browser profile). The page carries a fresh token
    (web/overrides/csrf_token.py), so its header's Log out and the next form post work."""
    context = {
        "viewer": provide_viewer(request),
        "stale_form": answer.detail == CSRF_FAILED,
        "back": _same_site_path(request.headers.get("referer"), request.url.netloc),
    }
    page = Template("forbidden.html", context=context, status_code=403)
    page.headers["Cache-Control"] = "no-store"
    page_token(request, page)
    return page


def _same_site_path(referer: str | None, netloc: str) -> str:
    """Where the form was, to go back to: a path on this site, else /profile."""
    if referer:
        parts = urlsplit(referer)
        if parts.netloc == netloc and parts.path.startswith("/") and parts.path != "/logout":
            return parts.path
    return "/profile"


def failed(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    """A 500: the traceback goes to the log under a short id, and the client is shown the id
    (a page, or problem+json), never the traceback."""
    error_id = log_failure(request.scope, error)
    if wants_json(request.url.path):
        body = ServerProblem(
            status=500,
            title="Internal Server Error",
            detail=f"Something went wrong on our side; it has been logged as error {error_id}.",
            errorId=error_id,
        )
        return Response(body, status_code=500, media_type=PROBLEM_JSON)
    context = {"error_id": error_id}
    headers = {"Cache-Control": "no-store"}
    return Template("error.html", context=context, status_code=500, headers=headers)
