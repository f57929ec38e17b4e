"""A 500: the traceback goes to the log under a short id, and the client is shown that id (a
page, or problem+json under /api/), never the traceback. Every unexpected exception of every
route comes here (the app's handler for 500; the API's own handlers do the same)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.response import Template

from web.api.errors import internal_problem
from web.plumbing.logs import log_failure


def internal_error(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    if request.url.path.startswith("/api/"):
        return internal_problem(request, error)
    error_id = log_failure(request.scope, error)
    return Template(
        "error.html",
        context={"error_id": error_id},
        status_code=500,
        headers={"Cache-Control": "no-store"},
    )
