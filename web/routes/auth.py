"""Sign up, log in, log out: plain forms, 303 after success, the form re-shown on error."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, get, post
from litestar.exceptions import NotAuthorizedException
from litestar.params import QueryParameter, URLEncodedBody
from litestar.plugins.flash import flash
from litestar.response import Redirect, Response, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_401_UNAUTHORIZED
from msgspec import Struct

from web.deps import DB, SESSION_USER_KEY, CurrentViewer
from web.services.accounts import members
from web.sessions import renew_session_id


class SignupForm(Struct):
    handle: str = ""
    display_name: str = ""
    password: str = ""


class LoginForm(Struct):
    handle: str = ""
    password: str = ""
    next: str = "/profile"


def safe_next(target: str) -> str:
    """Only same-site paths: never '//evil.example' or a full URL."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/profile"


def _sign_in(request: Request[Any, Any, Any], user_id: int) -> None:
    renew_session_id(request)
    request.set_session({SESSION_USER_KEY: user_id})


class AuthController(Controller):
    @get("/signup", sync_to_thread=False)
    def signup_form(self, viewer: CurrentViewer) -> Template:
        return Template("signup.html", context={"viewer": viewer, "form": SignupForm()})

    @post("/signup", sync_to_thread=True)
    def signup(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        data: URLEncodedBody[SignupForm],
    ) -> Template | Redirect:
        try:
            user = members.create_member(
                db, handle=data.handle, display_name=data.display_name, password=data.password
            )
        except members.MemberError as error:
            context = {"viewer": None, "form": data, "errors": error.errors}
            return Template("signup.html", context=context, status_code=HTTP_400_BAD_REQUEST)
        assert user.id is not None
        _sign_in(request, user.id)
        flash(request, f"Welcome, {user.display_name}!", category="ok")
        return Redirect("/profile", status_code=303)

    @get("/login", sync_to_thread=False)
    def login_form(
        self, viewer: CurrentViewer, next_: Annotated[str, QueryParameter(name="next")] = "/profile"
    ) -> Template:
        form = LoginForm(next=safe_next(next_))
        return Template("login.html", context={"viewer": viewer, "form": form})

    @post("/login", sync_to_thread=True)
    def login(
        self, request: Request[Any, Any, Any], db: DB, data: URLEncodedBody[LoginForm]
    ) -> Template | Redirect:
        user_id = members.authenticate(db, handle=data.handle, password=data.password)
        if user_id is None:
            context = {
                "viewer": None,
                "form": LoginForm(handle=data.handle, next=safe_next(data.next)),
                "errors": {"form": "That handle and password do not match a member."},
            }
            return Template("login.html", context=context, status_code=HTTP_401_UNAUTHORIZED)
        _sign_in(request, user_id)
        return Redirect(safe_next(data.next), status_code=303)

    @post("/logout", sync_to_thread=False)
    def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        request.clear_session()
        return Redirect("/members", status_code=303)


def log_in_first(request: Request[Any, Any, Any], _error: NotAuthorizedException) -> Response[Any]:
    """A member-only page without a member: to the login form, and back here afterwards."""
    target = request.url.path if request.method == "GET" else "/profile"
    location = f"/login?next={quote(target)}"
    if request.headers.get("hx-request"):  # fetch would follow a redirect and swap the login page
        return Response(b"", status_code=401, headers={"HX-Redirect": location})
    return Redirect(location, status_code=303)
