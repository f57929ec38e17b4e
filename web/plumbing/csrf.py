"""A valid CSRF token for pages rendered outside the CSRF middleware's reach.

Litestar's CSRF middleware puts the token in the request's scope (where `csrf_input` and
`csrf_token()` read it) only once it has checked the request. A page rendered by an exception
handler for a refusal made before that point (413 while the middleware reads the form, 429 from
the rate limiter in front of it, the 403 it raises itself) would carry an empty token, and its
forms would all fail. `page_token` gives such a page the token the browser's CSRF cookie already
holds, or a new one with its cookie, exactly as the middleware does for a GET.
"""

from __future__ import annotations

from secrets import compare_digest
from typing import Any

from litestar import Request, Response
from litestar.middleware.csrf import CSRF_SECRET_LENGTH, generate_csrf_hash, generate_csrf_token
from litestar.utils.empty import value_or_default
from litestar.utils.scope.state import ScopeState


def page_token(request: Request[Any, Any, Any], response: Response[Any]) -> None:
    """Make the forms `response` renders carry a token the browser's cookie matches."""
    config = request.app.csrf_config
    state = ScopeState.from_scope(request.scope)
    if config is None or value_or_default(state.csrf_token, ""):
        return
    cookie = request.cookies.get(config.cookie_name)
    if cookie and _signed(cookie, config.secret):
        state.csrf_token = cookie
        return
    state.csrf_token = token = generate_csrf_token(config.secret)
    response.set_cookie(
        key=config.cookie_name,
        value=token,
        path=config.cookie_path,
        secure=config.cookie_secure,
        httponly=config.cookie_httponly,
        samesite=config.cookie_samesite,
        domain=config.cookie_domain,
    )


def _signed(token: str, secret: str) -> bool:
    """The middleware's own check of a token's signature (its secret half, HMAC-signed)."""
    if len(token) <= CSRF_SECRET_LENGTH:
        return False
    half, signature = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
    return compare_digest(signature, generate_csrf_hash(token=half, secret=secret))
