"""Sign up, log in, log out: plain forms, 303 after success, the form re-shown on error.

Both forms hash a password, so each first takes a place in the app's hashing queue (a short
one, with a share per address: web/services/accounts/hashing.py), then is throttled
(web/plumbing/throttle.py) before the hash: a refusal is the same form again, with a sentence and
Retry-After.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, get, post
from litestar.params import QueryParameter, URLEncodedBody
from litestar.plugins.flash import flash
from litestar.response import Redirect, Response, Template
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_401_UNAUTHORIZED,
    HTTP_429_TOO_MANY_REQUESTS,
)
from msgspec import Struct

from web.errors import Answer
from web.overrides.csrf_token import new_token, pending_token, use_token
from web.overrides.sessions import renew_session_id
from web.plumbing.client import client_address
from web.plumbing.deps import DB, SESSION_USER_KEY, CurrentViewer
from web.plumbing.replies import RETRY_AFTER_HASHING, retry_after
from web.plumbing.throttle import (
    LOGIN_PER_ADDRESS,
    LOGIN_PER_HANDLE,
    SIGNUPS_PER_ADDRESS,
    throttle_of,
    wait_text,
)
from web.routes.profile_page import SUGGEST
from web.services.accounts import members
from web.services.accounts.hashing import HashingBusy, HashQueue

SIGNED_OUT = "You are signed out: sign in again, and your picture and crop are still here."
FORM_TOO_LARGE = "That form was too large to read: send it again with shorter answers."
BUSY_MINE = "The server is still checking other passwords sent from your address: try again in"
BUSY_ALL = "The server is busy checking other passwords: try again in"


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

    @post("/signup")
    async def signup(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        data: URLEncodedBody[SignupForm],
    ) -> Template | Redirect:
        address = client_address(request.scope)
        try:
            async with hashing(request).place(address):
                return await _sign_up(request, db, data, address)
        except HashingBusy as busy:
            return _refused("signup.html", data, _busy_text(busy), RETRY_AFTER_HASHING)

    @get("/login", sync_to_thread=False)
    def login_form(
        self, viewer: CurrentViewer, next_: Annotated[str, QueryParameter(name="next")] = "/profile"
    ) -> Template:
        form = LoginForm(next=safe_next(next_))
        return Template("login.html", context={"viewer": viewer, "form": form})

    @post("/login")
    async def login(
        self, request: Request[Any, Any, Any], db: DB, data: URLEncodedBody[LoginForm]
    ) -> Template | Redirect:
        form = LoginForm(handle=data.handle, next=safe_next(data.next))
        try:
            async with hashing(request).place(client_address(request.scope)):
                return await _log_in(request, db, data, form)
        except HashingBusy as busy:
            return _refused("login.html", form, _busy_text(busy), RETRY_AFTER_HASHING)

    @post("/logout", sync_to_thread=False)
    def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        request.clear_session()
        return Redirect("/members", status_code=303)


async def _sign_up(
    request: Request[Any, Any, Any], db: DB, data: SignupForm, address: str
) -> Template | Redirect:
    throttle = throttle_of(request.app)
    if refusal := await throttle.take(SIGNUPS_PER_ADDRESS, address):
        text = (
            "Too many accounts were made from your address in the last hour: "
            f"try again in {wait_text(refusal.retry_after)}."
        )
        return _refused("signup.html", data, text, refusal.retry_after)
    create = partial(
        members.create_member,
        db,
        handle=data.handle,
        display_name=data.display_name,
        password=data.password,
    )
    try:
        user = await hashing(request).run(create)
    except members.MemberError as error:
        await throttle.give_back(SIGNUPS_PER_ADDRESS, address)  # no account was made
        context = {"viewer": None, "form": data, "errors": error.errors}
        return Template("signup.html", context=context, status_code=HTTP_400_BAD_REQUEST)
    assert user.id is not None
    _sign_in(request, user.id)
    flash(request, f"Welcome, {user.display_name}!", category="ok")
    return Redirect("/profile", status_code=303)


async def _log_in(
    request: Request[Any, Any, Any], db: DB, data: LoginForm, form: LoginForm
) -> Template | Redirect:
    throttle = throttle_of(request.app)
    handle, address = members.normal_handle(data.handle), client_address(request.scope)
    # Counted as failed before the hash, so a burst cannot pass the check all at once.
    if refusal := await throttle.take_all(
        (LOGIN_PER_ADDRESS, (handle, address)), (LOGIN_PER_HANDLE, (handle,))
    ):
        wait = wait_text(refusal.retry_after)
        text = f"Too many failed logins for this handle: try again in {wait}."
        return _refused("login.html", form, text, refusal.retry_after)
    check = partial(members.authenticate, db, handle=data.handle, password=data.password)
    user_id = await hashing(request).run(check)
    if user_id is None:
        context = {
            "viewer": None,
            "form": form,
            "errors": {"form": "That handle and password do not match a member."},
        }
        return Template("login.html", context=context, status_code=HTTP_401_UNAUTHORIZED)
    # A success is no failed login: its count is given back, so a member's own logins (a
    # script's, many a minute) never lock the handle.
    await throttle.reset(LOGIN_PER_ADDRESS, handle, address)
    await throttle.give_back(LOGIN_PER_HANDLE, handle)
    _sign_in(request, user_id)
    return Redirect(safe_next(data.next), status_code=303)


def log_in_first(request: Request[Any, Any, Any], answer: Answer) -> Response[Any]:
    """A member-only page without a member: to the login form, and back here afterwards.

    A page's script gets 401 instead (fetch would follow a redirect and swap the login page):
    htmx with HX-Redirect (its default: go and sign in), which /profile's upload form stops
    in order to say "signed out" and keep the chosen file (static/js/upload-check.js); the
    crop suggestion's JSON, `{"error", "signIn"}`."""
    target = request.url.path if request.method == "GET" else "/profile"
    location = f"/login?next={quote(target)}"
    if request.headers.get("hx-request"):
        headers = answer.headers | {"HX-Redirect": location}
        return Response(b"", status_code=401, headers=headers)
    if request.url.path == SUGGEST:
        body = {"error": SIGNED_OUT, "signIn": location}
        return Response(body, status_code=401, headers=answer.headers)
    return Redirect(location, status_code=303, headers=answer.headers)


def hashing(request: Request[Any, Any, Any]) -> HashQueue:
    """The app's password-hashing queue (web/services/accounts/hashing.py)."""
    queue: HashQueue = request.app.state["hashing"]
    return queue


def _busy_text(busy: HashingBusy) -> str:
    return f"{BUSY_MINE if busy.mine else BUSY_ALL} {wait_text(RETRY_AFTER_HASHING)}."


def _refused(template: str, form: Struct, text: str, seconds: int) -> Template:
    """The form again, usable, with the reason: 429 and Retry-After."""
    return Template(
        template,
        context={"viewer": None, "form": form, "errors": {"form": text}},
        status_code=HTTP_429_TOO_MANY_REQUESTS,
        headers=retry_after(seconds),
    )


def form_too_large(request: Request[Any, Any, Any], answer: Answer) -> Response[Any]:
    """413 to a visitor: the login or sign-up form again, with a CSRF token that works (the
    body was refused before the CSRF check could set one)."""
    config = request.app.csrf_config
    assert config is not None
    cookie = request.cookies.get(config.cookie_name)
    token = pending_token(request.scope)
    if token is None:
        token = cookie or new_token(config.secret)
        use_token(request.scope, token)
    form: Struct = SignupForm() if request.url.path == "/signup" else LoginForm()
    page = Template(
        "signup.html" if request.url.path == "/signup" else "login.html",
        context={"viewer": None, "form": form, "errors": {"form": FORM_TOO_LARGE}},
        status_code=answer.status,
        headers=dict(answer.headers),
    )
    if cookie is None:
        page.set_cookie(
            config.cookie_name,
            token,
            path=config.cookie_path,
            secure=config.cookie_secure,
            httponly=config.cookie_httponly,
            samesite=config.cookie_samesite,
        )
    return page
