"""The member's kept versions on /profile: use one, restore a deleted one, remove the picture,
delete a version; and the history's own part, which open tabs fetch again when the member's
picture changes anywhere (components/profile_pictures.html).

Each action is a plain form post (303 back to /profile) or, with htmx, a swap of the page's main
part; its notice offers Undo where there is an exact inverse: a deletion is undone by Restore
(or, when it was the picture, by Use this picture), a removal by Use this picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from litestar import Controller, Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from sqlmodel import Session

from web.plumbing.deps import DB, MEMBERS_ONLY, SignedIn
from web.routes.profile_page import PROFILE, actor_of, done, pictures_context, refused
from web.services.accounts.members import Viewer
from web.services.audit import Actor
from web.services.commits import Change
from web.services.pictures import changes
from web.services.pictures.access import PictureError


@dataclass
class VersionForm:
    version: int | None = None


class VersionChange(Protocol):
    """changes.use or changes.restore: None when the version was that way already."""

    def __call__(
        self, session: Session, *, actor: Actor, user_id: int, version: int
    ) -> Change | None: ...


def undoable(text: str, undo: str, version: int) -> dict[str, Any]:
    """A notice with an Undo button that posts to /profile/picture/{version}/{undo}."""
    return {"text": text, "undo": undo, "undo_version": version}


def version_change(
    request: Request[Any, Any, Any],
    db: Session,
    viewer: Viewer,
    version: int,
    change: VersionChange,
    said: tuple[str, str],
) -> Template | Redirect:
    """Use or restore one version, and say so: `said` ends "Version N …" when nothing changed
    (the service answered None), then when it did."""
    try:
        changed = change(db, actor=actor_of(request, viewer), user_id=viewer.id, version=version)
    except PictureError as error:
        return refused(request, db, viewer, error)
    unchanged, now = said
    return done(request, db, viewer, f"Version {version} {unchanged if changed is None else now}")


class HistoryController(Controller):
    path = "/profile"
    dependencies = MEMBERS_ONLY

    @get("/pictures", sync_to_thread=True)
    def pictures(
        self, request: Request[Any, Any, Any], db: DB, viewer: SignedIn
    ) -> Template | Redirect:
        """The history and the deleted pictures as they are now, for htmx; a browser that asks
        for it is sent to the page they are part of."""
        if not request.headers.get("hx-request"):
            return Redirect(PROFILE)
        headers = {"Cache-Control": "no-store", "Vary": "HX-Request"}
        context = pictures_context(db, viewer.id)
        return Template("profile_pictures.html", context=context, headers=headers)

    @post("/picture/{version:int}/use", sync_to_thread=True)
    def use(
        self, request: Request[Any, Any, Any], db: DB, viewer: SignedIn, version: FromPath[int]
    ) -> Template | Redirect:
        said = ("is your picture already.", "is your picture now.")
        return version_change(request, db, viewer, version, changes.use, said)

    @post("/picture/{version:int}/restore", sync_to_thread=True)
    def restore(
        self, request: Request[Any, Any, Any], db: DB, viewer: SignedIn, version: FromPath[int]
    ) -> Template | Redirect:
        """Back into the history; the current picture stays as it is."""
        said = ("is in your pictures already.", "restored to your pictures.")
        return version_change(request, db, viewer, version, changes.restore, said)

    @post("/picture/remove", sync_to_thread=True)
    def remove(
        self, request: Request[Any, Any, Any], db: DB, viewer: SignedIn
    ) -> Template | Redirect:
        try:
            removed = changes.remove(db, actor=actor_of(request, viewer), user_id=viewer.id)
        except PictureError as error:
            return refused(request, db, viewer, error)
        if removed.version is None:
            return done(request, db, viewer, "You have no picture to remove.")
        text = "Picture removed: your initials show instead."
        return done(request, db, viewer, undoable(text, "use", removed.version))

    @post("/picture/delete", sync_to_thread=True)
    def delete(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        viewer: SignedIn,
        data: URLEncodedBody[VersionForm],
    ) -> Template | Redirect:
        try:
            deleted = changes.delete(
                db, actor=actor_of(request, viewer), user_id=viewer.id, version=data.version
            )
        except PictureError as error:
            return refused(request, db, viewer, error)
        undo = "use" if deleted.was_active else "restore"
        text = f"Version {deleted.version} deleted."
        return done(request, db, viewer, undoable(text, undo, deleted.version))
