"""The HTML pages: the landing page, the directory (paged and searched:
web/services/accounts/directory.py) and a member's page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from web.plumbing.caching import REVALIDATE
from web.plumbing.deps import DB, CurrentViewer
from web.services.accounts import directory, members


def _next_url(q: str, after: str | None) -> str | None:
    if after is None:
        return None
    return "/members?" + urlencode({"q": q, "after": after} if q else {"after": after})


class PagesController(Controller):
    @get("/", sync_to_thread=False)
    def home(self, viewer: CurrentViewer) -> Redirect | Template:
        """A member's home is their profile; a visitor's, the page that says what this is."""
        if viewer:
            return Redirect("/profile", status_code=303)
        return Template("landing.html", context={"viewer": None})

    @get("/members", sync_to_thread=True, opt={REVALIDATE: True})
    def directory_page(
        self, db: DB, viewer: CurrentViewer, q: FromQuery[str] = "", after: FromQuery[str] = ""
    ) -> Template:
        """A page of the directory: `q` searches names and handles, `after` is the cursor of
        the page (the next page's link carries it)."""
        context: dict[str, Any] = {
            "viewer": viewer,
            "q": q,
            "after": after,
            "searching": bool(directory.search_text(q)),
            "max_search": directory.MAX_SEARCH_CHARS,
        }
        try:
            page = directory.page(db, q=q, after=after)
        except directory.DirectoryError as error:
            context |= {"members": [], "error": str(error)}
            return Template("members.html", context=context, status_code=400)
        context |= {"members": page.members, "next_url": _next_url(q, page.after)}
        return Template("members.html", context=context)

    @get("/members/{handle:str}", sync_to_thread=True, opt={REVALIDATE: True})
    def member_page(self, db: DB, viewer: CurrentViewer, handle: FromPath[str]) -> Template:
        member = members.member_by_handle(db, handle)
        if member is None:
            raise NotFoundException(f"No member has the handle '{handle}'.")
        return Template("member.html", context={"viewer": viewer, "member": member})
