"""The database can't be reached: 503 with Retry-After, an HTML page or problem+json, never a
traceback. The page renders without the database (no viewer, no flashes) and the handler logs
one WARNING line per request with the cause; other database errors are 500s like any other
(web/routes/failed.py)."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.response import Template
from sqlalchemy.exc import SQLAlchemyError

from db.unavailable import unavailable_cause
from web.api.errors import problem
from web.routes.failed import internal_error

RETRY_AFTER_S = 5
# No promise that nothing changed: a commit can succeed just before the read after it fails.
SENTENCE = "The site can't reach its database just now; try again in a few seconds."

log = logging.getLogger(__name__)


def database_error(request: Request[Any, Any, Any], error: SQLAlchemyError) -> Response[Any]:
    api = request.url.path.startswith("/api/")
    cause = unavailable_cause(error)
    if cause is None:  # a bug or a conflict, not an outage: the usual 500
        return internal_error(request, error)
    log.warning("database unavailable: %s %s: %s", request.method, request.url.path, cause)
    headers = {"Retry-After": str(RETRY_AFTER_S), "Cache-Control": "no-store"}
    if api:
        return problem(503, SENTENCE, headers)
    return Template(
        "unavailable.html", context={"sentence": SENTENCE}, status_code=503, headers=headers
    )
