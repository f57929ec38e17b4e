"""Liveness (the process answers) and readiness (the database answers)."""

from __future__ import annotations

from litestar import get
from litestar.datastructures import State
from litestar.response import Response
from sqlalchemy import text

from web.deps import engine_of


@get("/healthz", sync_to_thread=False, include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", sync_to_thread=True, include_in_schema=False)
def readyz(state: State) -> Response[dict[str, str]]:
    try:
        with engine_of(state).connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # any failure means "not ready"; the reason goes to the probe
        body = {"status": "unavailable", "database": type(error).__name__}
        return Response(body, status_code=503)
    return Response({"status": "ok", "database": "ok"})
