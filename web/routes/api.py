"""The JSON API (the seed's contract): upload, read, use, remove, delete and sync a member's
picture.

Bearer tokens only (a session cookie is not accepted, and CSRF does not apply to /api/). Each
handler calls one service; its commit tells every open tab of the change (web/services/commits.py),
exactly like the /profile forms'. Errors are problem details (web/errors.py answers them).
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, cast

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, MultipartBody, PathParameter

from db.models import MAX_ID
from web.api.bodies import (
    DeletePicture,
    History,
    ImportPicture,
    PictureState,
    RemovePicture,
    SyncAnswer,
    SyncPicture,
    UpdatePicture,
    history_body,
    state_body,
    sync_body,
)
from web.api.common import (
    ETAG_DOC,
    REPLAYED_DOC,
    SECURITY,
    IdempotencyKey,
    bearer_guard,
    etag_matches,
    provide_caller,
    strict_json_body,
)
from web.api.errors import ERROR_TEXT, IMPORT_TEXTS, conflict_doc, error_docs
from web.api.examples import Documented
from web.api.forms import UploadForm
from web.api.uploaded import NewPicture, new_picture_body
from web.plumbing.deps import DB, Media, media_of, settings_of
from web.plumbing.guards import upload_allowance
from web.services import imaging
from web.services.accounts.tokens import ApiCaller
from web.services.pictures import changes, from_link, reads, uploads

Caller = NamedDependency[ApiCaller]
PathUserId = Annotated[int, PathParameter(ge=1, le=MAX_ID, description="The member's id.")]


class ApiController(Controller):
    path = "/api/profile"
    tags = ["Profile pictures"]
    include_in_schema = True
    guards = [bearer_guard]
    security = SECURITY
    dependencies = {"caller": Provide(provide_caller, sync_to_thread=False)}

    @post(
        "/upload-picture",
        operation_id="uploadPicture",
        operation_class=Documented,
        sync_to_thread=True,
        guards=[upload_allowance],
        opt={"upload": True},
        status_code=201,
        summary="Upload a new version and make it the picture",
        response_headers=[REPLAYED_DOC],
        responses=error_docs(
            404,
            409,
            413,
            415,
            422,
            429,
            503,
            texts={
                409: "A request with this Idempotency-Key is still running, or another change "
                "took the version number first; retry.",
                422: ERROR_TEXT[422] + " Or the Idempotency-Key was used for another file.",
            },
        ),
    )
    def upload_picture(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        caller: Caller,
        media: Media,
        data: MultipartBody[UploadForm],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[NewPicture]:
        """The file is checked and re-encoded like the /profile form's (JPEG, PNG, GIF, WebP,
        HEIC/HEIF or AVIF, judged by its bytes; cropped to a square on the largest face, else
        centred) and becomes the member's picture:
        every open page showing the member updates at once; a small one with `warnings`. With
        an `Idempotency-Key`, a retry gets the first answer (and `Idempotent-Replayed: true`)
        and makes no second version. Rate-limited per member, across tokens and the form (429)."""
        settings = settings_of(request.app.state)
        done = uploads.upload(
            db,
            media_of(request.app.state),
            actor=caller.actor,
            user_id=int(data.user_id),
            file=data.profile_picture.file,
            original_name=data.profile_picture.filename,
            limits=settings.image_limits(),
            scan=uploads.scanner(settings.clamd_socket),
            idempotency_key=idempotency_key,
            edits=imaging.edits_from(data.enhance, data.background, data.background_color),
        )
        replayed = {"Idempotent-Replayed": "true"} if done.change is None else None
        return Response(new_picture_body(done, media), status_code=201, headers=replayed)

    @post(
        "/import-picture",
        before_request=strict_json_body,
        operation_id="importPicture",
        operation_class=Documented,
        sync_to_thread=True,
        guards=[upload_allowance],
        status_code=201,
        summary="Fetch a picture from a link and make it the picture",
        response_headers=[REPLAYED_DOC],
        responses=error_docs(404, 409, 413, 415, 422, 429, 503, 504, texts=IMPORT_TEXTS),
    )
    def import_picture(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        caller: Caller,
        media: Media,
        data: JSONBody[ImportPicture],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[NewPicture]:
        """The server fetches `url` (http or https, public addresses only, redirects checked,
        size and time capped) and keeps the bytes exactly as upload-picture keeps a file: the
        same checks, answer, live update and `Idempotency-Key` (a retry fetches again; the
        same bytes get the first answer). History names the version after the link's last
        path segment. Counted in the member's upload limit; one fetch at a time per member."""
        settings = settings_of(request.app.state)
        done = from_link.import_from_link(
            db,
            media_of(request.app.state),
            actor=caller.actor,
            user_id=int(data.user_id),
            url=data.url,
            fetching=from_link.fetching_of(settings),
            limits=settings.image_limits(),
            scan=uploads.scanner(settings.clamd_socket),
            idempotency_key=idempotency_key,
        )
        replayed = {"Idempotent-Replayed": "true"} if done.change is None else None
        return Response(new_picture_body(done, media), status_code=201, headers=replayed)

    @get(
        "/picture/{userId:int}",
        operation_id="getPicture",
        operation_class=Documented,
        sync_to_thread=True,
        summary="The member's picture (or default avatar), its version, URLs and updatedAt",
        response_headers=[ETAG_DOC],
        responses={304: ResponseSpec(None, description="Unchanged since If-None-Match.")}
        | error_docs(404),
    )
    def picture(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        caller: Caller,
        media: Media,
        userId: PathUserId,
    ) -> Response[PictureState]:
        """With no picture, `version`, `filename` and `urls` are null and `defaultAvatar` says
        what pages draw instead. The ETag changes with the answer; send it back as
        `If-None-Match` for a 304."""
        state = state_body(reads.read(db, actor=caller.actor, user_id=userId), media)
        etag = '"' + hashlib.sha256(msgspec.json.encode(state)).hexdigest()[:32] + '"'
        headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Authorization"}
        if etag_matches(request.headers.get("if-none-match"), etag):
            return cast("Response[PictureState]", Response(b"", status_code=304, headers=headers))
        return Response(state, headers=headers)

    @get(
        "/picture/{userId:int}/history",
        operation_id="getPictureHistory",
        operation_class=Documented,
        sync_to_thread=True,
        summary="Every kept version of the member's picture, newest first",
        responses=error_docs(404),
    )
    def history(self, db: DB, caller: Caller, media: Media, userId: PathUserId) -> History:
        """Deleted versions are left out (they can still be restored by filename for 30 days)."""
        items = reads.read_history(db, actor=caller.actor, user_id=userId)
        return history_body(userId, items, media)

    @put(
        "/update-picture",
        before_request=strict_json_body,
        operation_id="updatePicture",
        operation_class=Documented,
        sync_to_thread=True,
        summary="Make an earlier version the picture again",
        responses=error_docs(404)
        | {409: conflict_doc("The picture changed after `updatedAt`: nothing was done.")},
    )
    def update_picture(
        self, db: DB, caller: Caller, media: Media, data: JSONBody[UpdatePicture]
    ) -> PictureState:
        """`profilePicture` names the version by its `filename` (a deleted one is undeleted).
        `updatedAt` is the `updatedAt` the caller last saw: when the picture changed after it,
        nothing is done and the answer is 409 with `current`, so two clients never overwrite
        each other's change unknowingly. Making the current version current changes nothing."""
        change, state = changes.restore_named(
            db,
            actor=caller.actor,
            user_id=int(data.user_id),
            name=data.profile_picture,
            seen=data.updated_at,
        )
        return state_body(state, media)

    @delete(
        "/delete-picture",
        before_request=strict_json_body,
        operation_id="deletePicture",
        operation_class=Documented,
        sync_to_thread=True,
        status_code=200,
        summary="Delete the current picture (kept 30 days, restorable)",
        responses=error_docs(404, 409),
    )
    def delete_picture(
        self, db: DB, caller: Caller, media: Media, data: JSONBody[DeletePicture]
    ) -> PictureState:
        """A soft delete: the previous version (or the default avatar) becomes the picture; the
        deleted one can be restored with update-picture for 30 days. Answers the new state."""
        user_id = int(data.user_id)
        changes.delete(db, actor=caller.actor, user_id=user_id)
        return state_body(reads.state(db, user_id), media)

    @post(
        "/remove-picture",
        before_request=strict_json_body,
        operation_id="removePicture",
        operation_class=Documented,
        sync_to_thread=True,
        status_code=200,
        summary="Show the default avatar instead of a picture; every version is kept",
        responses=error_docs(404, 409),
    )
    def remove_picture(
        self, db: DB, caller: Caller, media: Media, data: JSONBody[RemovePicture]
    ) -> PictureState:
        """No version is the picture any more: every page draws `defaultAvatar` (initials), at
        once. Nothing is deleted: update-picture makes a version the picture again. With no
        picture already, nothing changes. Answers the new state."""
        user_id = int(data.user_id)
        changes.remove(db, actor=caller.actor, user_id=user_id)
        return state_body(reads.state(db, user_id), media)

    @post(
        "/sync-picture",
        before_request=strict_json_body,
        operation_id="syncPicture",
        operation_class=Documented,
        sync_to_thread=True,
        status_code=200,
        summary="Is the caller's copy of the picture current? Records the sync",
        responses=error_docs(404),
    )
    def sync_picture(
        self, db: DB, caller: Caller, media: Media, data: JSONBody[SyncPicture]
    ) -> SyncAnswer:
        """`stale` is true when the caller shows another picture than the current one, or its
        `syncTimestamp` is older than the last change. Notes the member's `last_picture_sync`."""
        check = reads.sync(
            db,
            actor=caller.actor,
            user_id=int(data.user_id),
            name=data.profile_picture,
            seen=data.sync_timestamp,
        )
        return sync_body(check, media)
