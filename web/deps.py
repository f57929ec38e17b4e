"""Dependencies every handler may ask for: a database session and the signed-in viewer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException
from litestar.types import Scope
from sqlalchemy import Engine
from sqlmodel import Session

from web.live_hub import LiveHub
from web.services import members
from web.services.members import Viewer
from web.settings import Settings

SESSION_USER_KEY = "uid"

DB = NamedDependency[Session]
CurrentViewer = NamedDependency[Viewer | None]


def engine_of(state: State) -> Engine:
    engine: Engine = state["engine"]
    return engine


def settings_of(state: State) -> Settings:
    settings: Settings = state["settings"]
    return settings


def provide_db(state: State) -> Iterator[Session]:
    """A session per request; handlers commit what they change, the rest is rolled back."""
    with Session(engine_of(state), expire_on_commit=False) as session:
        yield session


def signed_in_id(scope: Scope) -> int | None:
    """The member id the session cookie carries, if any (no database read)."""
    session = scope.get("session")
    user_id = session.get(SESSION_USER_KEY) if isinstance(session, dict) else None
    return user_id if isinstance(user_id, int) else None


def provide_viewer(request: Request[Any, Any, Any], db: DB) -> Viewer | None:
    user_id = signed_in_id(request.scope)
    return None if user_id is None else members.viewer_by_id(db, user_id)


def provide_signed_in(request: Request[Any, Any, Any], db: DB) -> Viewer:
    """For member-only pages: no member, no page (the 401 handler sends them to log in)."""
    viewer = provide_viewer(request, db)
    if viewer is None:
        raise NotAuthorizedException("Log in first.")
    return viewer


def provide_live(state: State) -> LiveHub:
    hub: LiveHub = state["live"]
    return hub


Live = NamedDependency[LiveHub]
SignedIn = NamedDependency[Viewer]
MEMBERS_ONLY = {"viewer": Provide(provide_signed_in, sync_to_thread=True)}
