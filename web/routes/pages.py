"""The HTML pages: the directory, a member's page and the member's own profile."""

from __future__ import annotations

from litestar import Controller, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from web.plumbing.caching import REVALIDATE
from web.plumbing.deps import DB, CurrentViewer
from web.services.accounts import members


class PagesController(Controller):
    @get("/", sync_to_thread=False)
    def home(self, viewer: CurrentViewer) -> Redirect:
        return Redirect("/profile" if viewer else "/members", status_code=303)

    @get("/members", sync_to_thread=True, opt={REVALIDATE: True})
    def directory(self, db: DB, viewer: CurrentViewer) -> Template:
        context = {"viewer": viewer, "members": members.list_members(db)}
        return Template("members.html", context=context)

    @get("/members/{handle:str}", sync_to_thread=True, opt={REVALIDATE: True})
    def member_page(self, db: DB, viewer: CurrentViewer, handle: FromPath[str]) -> Template:
        member = members.member_by_handle(db, handle)
        if member is None:
            raise NotFoundException(f"No member has the handle '{handle}'.")
        return Template("member.html", context={"viewer": viewer, "member": member})
