"""A valid CSRF token for pages rendered outside the CSRF middleware's reach.

Litestar's CSRF middleware puts the token in the request's scope (where `csrf_input` and
`csrf_token()` read it) only once it has checked the request. A page rendered by an exception
handler for a refusal made before that point (413 while the middleware reads the form, 429 from
the rate limiter in front of it, the 403 it raises itself) would carry an empty token, and its
forms would all fail. `page_token` gives such a page the token the browser's CSRF cookie already
holds, or a new one with its cookie, exactly as the middleware does for a GET.

What it relies on upstream (litestar 2.25, uv.lock), canaried in tests/unit/test_overrides.py:
none of it is in `litestar.middleware.csrf.__all__` (which names CSRFMiddleware alone) nor
documented, so each may change in any release:
- the middleware's token scheme: `generate_csrf_token(secret)` makes a token of
  CSRF_SECRET_LENGTH random hex characters followed by `generate_csrf_hash(token=that, secret)`,
  and the cookie and the form field carry the same token;
- where the templates' `csrf_token()` reads it: `ScopeState.from_scope(scope).csrf_token`
  (litestar.utils.scope.state, an internal module), Empty until the middleware has run.
Litestar offers no public way to hand a page rendered by an exception handler a token (nor a
setting for it) in 2.25, on its v2 branch or on main (3.0.0b0).
"""

from __future__ import annotations

from secrets import compare_digest
from typing import Any

from litestar import Request, Response
from litestar.middleware.csrf import CSRF_SECRET_LENGTH, generate_csrf_hash, generate_csrf_token
from litestar.types import Scope
from litestar.utils.empty import value_or_default
from litestar.utils.scope.state import ScopeState


def pending_token(scope: Scope) -> str | None:
    """The token this request's forms will carry, as the templates read it (None: not set yet,
    the middleware has not run)."""
    token = value_or_default(ScopeState.from_scope(scope).csrf_token, None)
    return token if isinstance(token, str) else None


def use_token(scope: Scope, token: str) -> None:
    """Make `token` the one this request's forms carry (`csrf_input`, `csrf_token()`)."""
    ScopeState.from_scope(scope).csrf_token = token


def new_token(secret: str) -> str:
    """A fresh token, signed as the middleware signs its own (it accepts it back)."""
    return generate_csrf_token(secret)


def page_token(request: Request[Any, Any, Any], response: Response[Any]) -> None:
    """Make the forms `response` renders carry a token the browser's cookie matches."""
    config = request.app.csrf_config
    if config is None or pending_token(request.scope):
        return
    cookie = request.cookies.get(config.cookie_name)
    if cookie and _signed(cookie, config.secret):
        use_token(request.scope, cookie)
        return
    token = new_token(config.secret)
    use_token(request.scope, token)
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
