"""Server-side sessions that open no row for anonymous visitors and get a new id at sign-in.

Litestar's backend stores even an empty session, which would leave one stored row per
anonymous request, and keeps the cookie's id across sign-in (session fixation).

What it relies on upstream (litestar 2.25, uv.lock), canaried in tests/unit/test_overrides.py:
- `ServerSideSessionConfig.middleware` builds its backend from the private class attribute
  `_backend_class` (`SessionConfig` sets it to ours);
- `ServerSideSessionBackend.store_in_message(scope_session, message, connection)` runs on every
  response head, writes the session under `self.get_session_id(connection)` with a cookie of that
  id, stores an empty `{}` session too, and for `Empty` deletes that id's row and sends a
  clearing cookie (litestar-org/litestar#697); `get_session_id(connection)` is also what the
  middleware calls before the handler (litestar-org/litestar#3127), so overriding it is how a
  renewed id is both written and sent;
- `delete(session_id, store)`, `config.get_store_from_app(app)` and
  `load_from_connection(connection)` (a read that writes nothing, for the stream).
Neither behaviour has a setting in Litestar 2.25, on its v2 branch or on main (3.0.0b0): no
option skips empty sessions, and no call renews a session's id.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.types import Empty, Message, Scope, ScopeSession

_NEW_ID = "ppsync.new_session_id"
STATE_KEY = "session_config"  # the app's SessionConfig, in app.state, for `read_session`


def renew_session_id(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Send the session under a fresh id (call at sign-in); the old id's row is dropped."""
    connection.scope.setdefault("state", {})[_NEW_ID] = secrets.token_hex(32)


class SessionBackend(ServerSideSessionBackend):
    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        new_id: str | None = connection.scope.get("state", {}).get(_NEW_ID)
        return new_id or super().get_session_id(connection)

    async def store_in_message(
        self,
        scope_session: ScopeSession,
        message: Message,
        connection: ASGIConnection[Any, Any, Any, Any],
    ) -> None:
        old_id = connection.cookies.get(self.config.key)
        if not scope_session:
            if old_id is None:
                return  # nothing kept, nothing to clear: no cookie, no stored row
            scope_session = Empty
        if old_id and connection.scope.get("state", {}).get(_NEW_ID):
            await self.delete(old_id, store=self.config.get_store_from_app(connection.scope["app"]))
        await super().store_in_message(scope_session, message, connection)


@dataclass
class SessionConfig(ServerSideSessionConfig):
    _backend_class = SessionBackend


async def read_session(scope: Scope) -> dict[str, Any]:
    """The session a request's cookie names, read as the middleware reads it, never written back
    and no cookie sent: for the /events stream, which runs outside the middleware (web/app.py)."""
    config: SessionConfig = scope["app"].state[STATE_KEY]
    return await SessionBackend(config).load_from_connection(ASGIConnection(scope))
