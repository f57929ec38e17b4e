"""The picture bucket can't be reached (MEDIA_STORE=s3://..., the endpoint down, timing out or
answering 5xx): 503 with Retry-After and a clear sentence, never a 500.

A form on /profile gets the whole profile page again, with the sentence where the upload's
refusals go and a working CSRF token; the API gets problem+json; a picture file (an <img>) a
plain-text 503; any other page the "Back in a moment" page. Nothing is half-written: an upload
writes its files before its database commit, so a failed write commits nothing
(web/services/pictures/uploads.py), and the objects it did write are removed when the bucket
lets them be, else left to `ppsync media sweep`.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.response import Template
from sqlmodel import Session

from web.api.errors import problem
from web.overrides.csrf_token import page_token
from web.plumbing.deps import engine_of, signed_in_id
from web.routes.profile_page import PROFILE, profile_response
from web.services.pictures.storage import StoreUnavailable

RETRY_AFTER_S = 10
SENTENCE = "The picture storage can't be reached just now; try again in a few seconds."
NOTHING_SAVED = (
    "The picture storage can't be reached just now, so nothing was saved; "
    "try again in a few seconds."
)

log = logging.getLogger(__name__)


def store_unavailable(request: Request[Any, Any, Any], error: StoreUnavailable) -> Response[Any]:
    path = request.url.path
    log.warning("media store unavailable: %s %s: %s", request.method, path, error)
    headers = {"Retry-After": str(RETRY_AFTER_S), "Cache-Control": "no-store"}
    saving = request.method not in ("GET", "HEAD")
    sentence = NOTHING_SAVED if saving else SENTENCE
    if path.startswith("/api/"):
        return problem(503, sentence, headers)
    if path.startswith("/media/") or path.endswith("/master"):  # a file for an <img>: no page
        return Response(sentence, status_code=503, media_type="text/plain", headers=headers)
    user_id = signed_in_id(request.scope)
    if saving and user_id is not None and path.startswith(PROFILE):
        with Session(engine_of(request.app.state)) as db:
            page = profile_response(request, db, user_id, 503, upload_error=sentence)
        page.headers.update(headers)
        page_token(request, page)
        return page
    context = {"sentence": sentence}
    return Template("unavailable.html", context=context, status_code=503, headers=headers)
