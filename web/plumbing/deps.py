"""Dependencies every handler may ask for: a database session and the signed-in viewer.

A session must never hold a pooled connection while its request waits for a worker thread.
Sync handlers, sync dependencies and Litestar's clean-up of a *sync* generator dependency all
share one small thread pool (the event loop's default executor: 6 threads on 2 cores). When
each of those threads is a handler waiting for a connection, and each connection belongs to a
request waiting for a thread to close its session (or to run its handler), nothing moves until
the pool times out (30 s): issue 9's stalled read burst. So the session is closed by an async
dependency (on its own few threads, never queued behind handlers), and the viewer is read in a
unit of work of its own that gives its connection back before the handler is queued.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException
from litestar.types import Scope
from sqlalchemy import Engine
from sqlmodel import Session

from web.services.accounts import members
from web.services.accounts.members import Viewer
from web.services.commits import Commits
from web.services.pictures.names import MediaUrls
from web.services.pictures.storage import MediaStore
from web.settings import Settings

SESSION_USER_KEY = "uid"
CALLER_KEY = "api_caller"  # scope state: the API caller the Bearer guard let in

DB = NamedDependency[Session]
CurrentViewer = NamedDependency[Viewer | None]


def engine_of(state: State) -> Engine:
    engine: Engine = state["engine"]
    return engine


def release_limiter(state: State) -> anyio.CapacityLimiter:
    limiter: anyio.CapacityLimiter = state["db_release"]
    return limiter


def media_of(state: State) -> MediaStore:
    """The app's picture store, made once by `media_store(settings)` in create_app."""
    store: MediaStore = state["media"]
    return store


def media_urls_of(state: State) -> MediaUrls:
    """Where served variants are fetched (the app's /media/ or MEDIA_URL_BASE)."""
    urls: MediaUrls = state["media_urls"]
    return urls


Media = NamedDependency[MediaUrls]


def settings_of(state: State) -> Settings:
    settings: Settings = state["settings"]
    return settings


async def provide_db(state: State) -> AsyncIterator[Session]:
    """A session per request. The one rule for commits: a service commits the unit of work it
    owns (one change, one transaction; a refusal's audit in a transaction of its own), and a
    handler never commits. Whatever is left uncommitted is rolled back when the session closes.
    What a commit changed is told to the app's subscribers (live hub, read cache) by the session
    itself (web/services/commits.py): a handler never publishes either."""
    session = commits_of(state).attach(Session(engine_of(state), expire_on_commit=False))
    try:
        yield session
    finally:
        await close_session(session, release_limiter(state))


async def close_session(session: Session, limiter: anyio.CapacityLimiter) -> None:
    """Close on the event loop when nothing is held; else give the connection back (a rollback,
    so I/O) on the release threads, which only ever close sessions and so are never all busy
    waiting for a connection."""
    if not session.in_transaction():
        session.close()
        return
    await anyio.to_thread.run_sync(session.close, limiter=limiter)


def signed_in_id(scope: Scope) -> int | None:
    """The member id the session cookie carries, if any (no database read)."""
    session = scope.get("session")
    user_id = session.get(SESSION_USER_KEY) if isinstance(session, dict) else None
    return user_id if isinstance(user_id, int) else None


def provide_viewer(request: Request[Any, Any, Any]) -> Viewer | None:
    """Read in its own unit of work: its connection is back in the pool before the request
    queues for the thread that runs its handler (see the module's note)."""
    user_id = signed_in_id(request.scope)
    if user_id is None:
        return None
    with Session(engine_of(request.app.state)) as session:
        return members.viewer_by_id(session, user_id)


def provide_signed_in(request: Request[Any, Any, Any]) -> Viewer:
    """For member-only pages: no member, no page (the 401 handler sends them to log in)."""
    viewer = provide_viewer(request)
    if viewer is None:
        raise NotAuthorizedException("Log in first.")
    return viewer


def commits_of(state: State) -> Commits:
    """Who hears of the app's committed changes, wired once in create_app."""
    commits: Commits = state["commits"]
    return commits


SignedIn = NamedDependency[Viewer]
MEMBERS_ONLY = {"viewer": Provide(provide_signed_in, sync_to_thread=True)}
