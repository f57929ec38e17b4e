"""The /profile page, and what every form on it does after its action.

The picture, crop and token routes share these: answer htmx with the page's main part (and
header avatar) in place, or a plain form with a 303 back to /profile and the message as a flash
(the open tabs heard of the change when its service committed: web/services/commits.py).
Messages are the flash plugin's shape either way,
`{"message": text or {"text", "undo", "undo_version"}, "category": "ok" | "error" |
"warning"}`, and components/notice.html draws them.

A form's refusal is said in the form: in place for htmx; for a plain form post by
post/redirect/get (`refusal_redirect`), a 303 back to the form's page with the sentence (and
what was typed) as a flash `{"text", "form", "value"}` that the page takes into its form
(`form_refusal`): it is said once, and a reload of that page is a GET that posts nothing.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.plugins.flash import flash, get_flashes
from litestar.response import Redirect, Response, Template
from sqlmodel import Session

from web.errors import Answer, saving
from web.overrides.csrf_token import page_token
from web.plumbing.client import client_address
from web.plumbing.deps import engine_of, settings_of, signed_in_id
from web.services import imaging
from web.services.accounts import members, tokens
from web.services.accounts.members import Viewer
from web.services.audit import Actor
from web.services.imaging import faces
from web.services.pictures import reads
from web.services.pictures.access import PictureError
from web.settings import Settings

Message = str | dict[str, Any]
PROFILE = "/profile"
UPLOAD_FORM = "/profile/picture"  # the upload form's action
LINK_FORM = "/profile/picture/from-link"  # the link form's action
UPLOAD, LINK = "upload", "link"  # the /profile forms a refusal is said in
TOKENS = "/profile/tokens"  # the member's API tokens: a page of its own
SUGGEST = "/profile/picture/suggest-crop"  # the cropper's suggestion (JSON), not a page
PREVIEW_EDITS = "/profile/picture/preview-edits"  # the edits preview (JSON refusals): likewise
# What the upload form says the moment a file is chosen (static/js/upload-check.js), in the
# server's own words: the upload is refused with the same sentence.
CHOSEN_REFUSALS = ("empty", "unsupported_format", "too_large")
COPY_EDGE = 512  # the most pixels a crop suggestion's copy has on its long side


def copy_edge(detect_side: int = faces.SEARCH_SIDE) -> int:
    """The long edge of the copy a suggestion is asked for: a whole multiple of the side the
    face search works at (under COPY_EDGE), so the search sees the copy at its full resolution,
    as it sees the file itself (a 400 px copy is searched at 400 and 200 px, as a photo is; a
    512 px one would be resampled to 400 first)."""
    return detect_side * (COPY_EDGE // detect_side) if detect_side <= COPY_EDGE else COPY_EDGE


def actor_of(request: Request[Any, Any, Any], viewer: Viewer) -> Actor:
    return Actor(user_id=viewer.id, ip=client_address(request.scope))


def done(
    request: Request[Any, Any, Any],
    db: Session,
    viewer: Viewer,
    message: Message,
    *,
    category: str = "ok",
    status: int = 200,
    page: str = PROFILE,
    warnings: tuple[imaging.PictureWarning, ...] = (),
) -> Template | Redirect:
    """After an action: answer htmx (the page's main part) or the plain form (303 back to
    `page`: /profile, or /profile/tokens). `warnings` follow the message, each a notice."""
    notices = [{"message": message, "category": category}]
    notices += [{"message": warning.message, "category": "warning"} for warning in warnings]
    if htmx(request):
        render = tokens_response if page == TOKENS else profile_response
        return render(request, db, viewer.id, status, notices=notices)
    for notice in notices:
        flash(request, notice["message"], category=str(notice["category"]))
    return Redirect(page, status_code=303)


def refused(
    request: Request[Any, Any, Any], db: Session, viewer: Viewer, error: PictureError
) -> Template | Redirect:
    """A refused action (the service audited it), said like any other outcome."""
    return done(request, db, viewer, error.message, category="error", status=error.status)


def htmx(request: Request[Any, Any, Any]) -> bool:
    """An htmx request (answered in place), not a plain form post."""
    return bool(request.headers.get("hx-request"))


def refusal_redirect(
    request: Request[Any, Any, Any],
    form: str,
    message: str,
    *,
    value: Any = "",
    page: str = PROFILE,
) -> Redirect:
    """A plain form post's refusal, by post/redirect/get: 303 to `page`, the sentence and
    `value` (what was typed) kept as a flash that `form_refusal` gives back to the form."""
    flash(request, {"text": message, "form": form, "value": value}, category="error")
    return Redirect(page, status_code=303)


def form_refusal(
    request: Request[Any, Any, Any], forms: tuple[str, ...]
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The session's flashes, taken: the last refusal of one of `forms` (its text, form and
    value), and the other messages, for the page's notices."""
    refusal, notices = None, []
    for flashed in get_flashes({"request": request}):
        said = flashed.get("message")
        if isinstance(said, dict) and said.get("form") in forms:
            refusal = said
        else:
            notices.append(flashed)
    return refusal, notices


def profile_response(
    request: Request[Any, Any, Any],
    db: Session,
    user_id: int,
    status: int = 200,
    *,
    upload_error: str | None = None,
    link_error: str | None = None,
    link_url: str = "",
    notices: list[dict[str, Any]] | None = None,
) -> Template:
    """The profile page, whole for a browser, its main part (+ header avatar) for htmx.

    Without `notices` the page shows the session's flashes (components/notice.html), a
    redirected refusal in its form.
    """
    if notices is None:
        refusal, notices = form_refusal(request, (UPLOAD, LINK))
        if refusal and refusal["form"] == UPLOAD:
            upload_error = refusal["text"]
        elif refusal:
            link_error, link_url = refusal["text"], str(refusal.get("value", ""))
    context: dict[str, Any] = pictures_context(db, user_id) | {
        "upload_error": upload_error,
        "link_error": link_error,  # the link form's refusal, shown with the link as typed
        "link_url": link_url,
        "max_mib": round(settings_of(request.app.state).max_upload_bytes / 2**20, 1),
        # The form downsizes bigger still photos in the browser first (static/js/downsize.js).
        "max_bytes": settings_of(request.app.state).max_upload_bytes,
        "max_pixels": imaging.Limits().max_pixels,
        "refusals": _chosen_refusals(settings_of(request.app.state).max_upload_bytes),
        "suggestion_max_bytes": settings_of(request.app.state).suggestion_max_bytes,
        "suggestion_edge": copy_edge(),
        "recommended_px": imaging.RECOMMENDED_MIN_PX,
        "notices": notices,
    }
    name = "profile_swap.html" if htmx(request) else "profile.html"
    headers = {"Vary": "HX-Request", "Cache-Control": "no-store"}
    return Template(name, context=context, status_code=status, headers=headers)


def pictures_context(db: Session, user_id: int) -> dict[str, Any]:
    """What the history and deleted pictures show (profile_pictures.html). The viewer, whose
    avatar carries the picture_version, is read first: a change committed in between makes the
    version older than the lists, never newer, so its live event still refreshes them."""
    return {
        "viewer": members.viewer_by_id(db, user_id),
        "history_items": reads.history(db, user_id),
        "deleted_items": reads.deleted(db, user_id),
        "preferences": members.preferences_of(db, user_id),
    }


def tokens_response(
    request: Request[Any, Any, Any],
    db: Session,
    user_id: int,
    status: int = 200,
    *,
    notices: list[dict[str, Any]] | None = None,
    new_api_token: str | None = None,
) -> Template:
    """The API tokens page, whole for a browser, its main part for htmx. A new token is shown in
    this response only: it is never stored anywhere but as its hash, and no cache (the
    browser's included) keeps the page."""
    context: dict[str, Any] = {
        "viewer": members.viewer_by_id(db, user_id),
        "api_token_items": tokens.list_tokens(db, user_id),
        "new_api_token": new_api_token,
    }
    if notices is not None:
        context["notices"] = notices
    name = "tokens_main.html" if request.headers.get("hx-request") else "tokens.html"
    headers = {"Vary": "HX-Request", "Cache-Control": "no-store"}
    return Template(name, context=context, status_code=status, headers=headers)


def _chosen_refusals(max_bytes: int) -> dict[str, str]:
    limits = imaging.Limits(max_bytes=max_bytes)
    return {code: imaging.rejected(code, limits).message for code in CHOSEN_REFUSALS}


def suggestion_too_large(settings: Settings) -> str:
    kib = settings.suggestion_max_bytes // 1024
    return (
        f"The copy sent for a crop suggestion is larger than {kib} KiB: "
        "place the circle yourself, then upload."
    )


def _big_copy() -> str:
    return "The copy sent for the preview is too large; your choices still apply on upload."


def upload_refused(request: Request[Any, Any, Any], answer: Answer) -> Response[Any]:
    """413 from the body limit and 429 from the upload or suggestion limits, shown in the form
    like any refusal (the suggestion's as its JSON), the wait as Retry-After says it."""
    user_id = signed_in_id(request.scope)
    if user_id is None:
        return Response(
            {"detail": answer.detail}, status_code=answer.status, headers=answer.headers
        )
    settings = settings_of(request.app.state)
    if request.url.path in (SUGGEST, PREVIEW_EDITS):
        text = answer.detail
        if answer.status == 413:
            text = suggestion_too_large(settings) if request.url.path == SUGGEST else _big_copy()
        return Response({"error": text}, status_code=answer.status, headers=answer.headers)
    if answer.status == 413:
        message = _chosen_refusals(settings.max_upload_bytes)["too_large"]
    else:
        message = answer.detail
    return _refused_on_profile(request, user_id, answer, message)


def store_refused(request: Request[Any, Any, Any], answer: Answer) -> Response[Any] | None:
    """The picture bucket away during a member's form on /profile: the whole page again, the
    sentence where the upload's refusals go (None elsewhere: web/errors.py's page)."""
    user_id = signed_in_id(request.scope)
    if user_id is None or not saving(request) or not request.url.path.startswith(PROFILE):
        return None
    return _refused_on_profile(request, user_id, answer, answer.detail)


def _refused_on_profile(
    request: Request[Any, Any, Any], user_id: int, answer: Answer, message: str
) -> Response[Any]:
    # Said in the form that was sent (refused before its body was read: the link is not known).
    link = request.url.path == LINK_FORM
    if not htmx(request) and request.url.path in (UPLOAD_FORM, LINK_FORM):
        return refusal_redirect(request, LINK if link else UPLOAD, message)
    with Session(engine_of(request.app.state)) as db:
        page = profile_response(
            request,
            db,
            user_id,
            answer.status,
            upload_error=None if link else message,
            link_error=message if link else None,
        )
    page.headers.update(answer.headers)
    page_token(request, page)  # refused before the CSRF middleware set the page's token
    return page
