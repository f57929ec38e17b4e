"""Administrators' pages: who is connected to the live stream, and how far behind they are."""

from __future__ import annotations

from litestar import get
from litestar.exceptions import PermissionDeniedException
from litestar.response import Redirect, Template

from web.plumbing.deps import DB, CurrentViewer
from web.services import sync_sessions


@get("/admin/sync", sync_to_thread=True)
def sync_page(db: DB, viewer: CurrentViewer) -> Template | Redirect:
    if viewer is None:
        return Redirect("/login?next=/admin/sync", status_code=303)
    if not viewer.is_admin:
        raise PermissionDeniedException("Only administrators may see the sync sessions.")
    overview = sync_sessions.overview(db)
    return Template("admin_sync.html", context={"viewer": viewer, "overview": overview})
