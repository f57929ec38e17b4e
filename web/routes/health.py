"""Liveness (the process answers) and readiness (the database answers).

Readiness also shows the live events' state, without failing on it: with Redis away, pages,
uploads and live sync still work (tabs get changes from the database within
CATCH_UP_SECONDS), so taking the process out of a load balancer would only make things worse.
"""

from __future__ import annotations

from litestar import get
from litestar.datastructures import State
from litestar.response import Response
from sqlalchemy import text

from web.live.hub import LiveHub
from web.plumbing.deps import engine_of


@get("/healthz", sync_to_thread=False, include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", sync_to_thread=True, include_in_schema=False)
def readyz(state: State) -> Response[dict[str, str]]:
    live: LiveHub = state["live"]
    events = live.events_state  # "ok", "reconnecting" (Redis away) or "stopped"
    try:
        with engine_of(state).connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # any failure means "not ready"; the reason goes to the probe
        body = {"status": "unavailable", "database": type(error).__name__, "events": events}
        return Response(body, status_code=503)
    return Response({"status": "ok", "database": "ok", "events": events})
