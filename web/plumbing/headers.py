"""What every response carries, whoever made it (a handler, an exception handler, a middleware's
refusal, the stream): the security headers; and what no cacheable response may carry: a cookie.

A `before_send` hook, so errors and the ASGI stream get the same headers as pages.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar.datastructures import MutableScopeHeaders
from litestar.types import BeforeMessageSendHookHandler, Message, Scope

# Pages run no inline script or style; htmx and our own JS come from /static only. Pictures
# come from the app, or from MEDIA_URL_BASE's origin when a CDN serves them ({media}).
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'{media} data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    # No other site may load what we answer as an image or script (a page, a master, an error);
    # the public picture files and the avatar URL say `cross-origin` themselves.
    "Cross-Origin-Resource-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"  # production only: development is plain HTTP


def security_headers(
    *, production: bool, media_url_base: str | None = None
) -> BeforeMessageSendHookHandler:
    base = urlsplit(media_url_base) if media_url_base else None
    csp = PAGE_CSP.format(media=f" {base.scheme}://{base.netloc}" if base else "")
    headers = SECURITY_HEADERS | {"Content-Security-Policy": csp}
    if production:
        headers["Strict-Transport-Security"] = HSTS

    async def add(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        out = MutableScopeHeaders.from_message(message)
        for name, value in headers.items():
            if name not in out:
                out[name] = value
        # A shared cache would hand one visitor's cookie (the CSRF token) to every visitor.
        if "public" in out.get("cache-control", "") and "set-cookie" in out:
            del out["set-cookie"]

    return add
