"""What Litestar's own entry point does for a request, done by hand for the one path that skips
it: GET /events, which the app's front door (`App.__call__`, web/app.py) hands to the raw stream
(web/live/events.py) so that no middleware or send wrapper sits between its queue and the socket.

What it relies on upstream (litestar 2.25, uv.lock), canaried in tests/unit/test_overrides.py:
- `Litestar.__call__` sets `scope["app"]` and `scope["litestar_app"]` to the app and makes
  `scope["state"]` before anything runs (`enter_app` does the same: `Litestar.from_scope`,
  the session backend and the request log read them);
- `Litestar._wrap_send` (private) calls each of `app.before_send` as `await hook(message,
  scope)` on every message sent (`run_before_send` does so for the stream's head only; the
  hooks look at heads alone). `app.before_send` holds the hooks wrapped by
  `ensure_async_callable`, awaitable whatever the app was given. The two-argument form is
  Litestar 2.0's (its changelog: "Remove support for 2 argument form of before_send").
Litestar has no public way to run one path outside its middleware stack (an ASGI route via
`@asgi` still runs inside it), so the front door stays ours.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.types import Message, Scope


def enter_app(scope: Scope, app: Litestar) -> None:
    """The scope as `Litestar.__call__` leaves it for everything it calls."""
    scope["app"] = scope["litestar_app"] = app
    scope.setdefault("state", {})


async def run_before_send(message: Message, scope: Scope) -> None:
    """The app's before-send hooks over `message`, as Litestar's send wrapper runs them."""
    for hook in scope["app"].before_send:
        await hook(message, scope)
