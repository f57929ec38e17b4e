"""403 for a browser: a page that says what happened and how to go on, never JSON.

The usual cause is a form whose CSRF token no longer matches (sent from a page left open across
a sign-out, or from another browser profile). The page carries a fresh token
(web/overrides/csrf_token.py), so its header's Log out and the next form post work.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.exceptions.responses import create_exception_response
from litestar.response import Template

from web.overrides.csrf_token import page_token
from web.plumbing.deps import provide_viewer

CSRF_FAILED = "CSRF token verification failed"  # Litestar's CSRF middleware's detail


def forbidden(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    if request.url.path.startswith("/api/"):
        return create_exception_response(request, error)
    context = {
        "viewer": provide_viewer(request),
        "stale_form": error.detail == CSRF_FAILED,
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
