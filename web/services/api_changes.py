"""The JSON API's changes: upload (idempotent with a key), make a version active, delete.

They go through `pictures` like the /profile forms, so they write the same version, event and
audit rows; the caller publishes the returned Change after the commit. A refusal is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import IO

import msgspec
from sqlmodel import Session, col, select

from db.models import ProfilePicture
from web.api_views import PictureState
from web.services import idempotency, imaging, pictures
from web.services.api_access import PictureError, authorise, refused
from web.services.api_auth import ApiCaller
from web.services.api_pictures import picture_state
from web.services.change_lock import lock_member
from web.services.storage import MediaStore
from web.services.sync import Change

Scanner = Callable[[bytes], str | None]  # the virus scan of the form path (clamav.scan)


class StaleUpdate(Exception):
    """The picture changed after the caller's `updatedAt`: `current` is what it is now."""

    def __init__(self, current: PictureState) -> None:
        super().__init__("The picture changed since the given updatedAt.")
        self.current = current


def upload(
    session: Session,
    store: MediaStore,
    *,
    caller: ApiCaller,
    user_id: int,
    file: IO[bytes],
    original_name: str,
    limits: imaging.Limits,
    scan: Scanner | None = None,
    idempotency_key: str | None = None,
) -> tuple[Change | None, int, PictureState]:
    """(the change, or None when this is a retry answered from its key; status; new state)."""
    authorise(session, caller=caller, user_id=user_id, action="picture.upload")
    data = _read_capped(session, caller, user_id, file, limits)
    if idempotency_key is None:
        change = _upload(session, store, caller, user_id, data, original_name, limits, scan)
        state = picture_state(session, user_id)
        # Give the connection back now, in the handler's thread: a session held until the
        # request's cleanup pins a pool connection while other uploads wait for one.
        session.rollback()
        return change, 201, state
    digest = idempotency.fingerprint(str(user_id).encode(), data)
    stored = idempotency.claim(
        session, user_id=caller.user_id, key=idempotency_key, fingerprint=digest
    )
    if stored is not None:
        return None, stored.status, msgspec.convert(stored.body, PictureState)
    try:
        change = _upload(session, store, caller, user_id, data, original_name, limits, scan)
    except BaseException:
        idempotency.release(session, user_id=caller.user_id, key=idempotency_key)
        raise
    state = picture_state(session, user_id)
    body = msgspec.to_builtins(state)
    idempotency.complete(
        session, user_id=caller.user_id, key=idempotency_key, status=201, body=body
    )
    return change, 201, state


def _read_capped(
    session: Session, caller: ApiCaller, user_id: int, file: IO[bytes], limits: imaging.Limits
) -> bytes:
    data = file.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        error = imaging.rejected("too_large", limits)
        refused(session, caller, "picture.upload", user_id, error.code)
        raise error
    return data


def _upload(
    session: Session,
    store: MediaStore,
    caller: ApiCaller,
    user_id: int,
    data: bytes,
    original_name: str,
    limits: imaging.Limits,
    scan: Scanner | None,
) -> Change:
    try:
        return pictures.upload(
            session,
            store,
            actor=caller.actor,
            user_id=user_id,
            data=data,
            original_name=original_name,
            limits=limits,
            scan=scan,
        )
    except imaging.ImageRejected as error:
        refused(session, caller, "picture.upload", user_id, error.code)
        raise
    except PictureError as error:
        refused(session, caller, "picture.upload", user_id, error.message)
        raise


def make_active(
    session: Session, *, caller: ApiCaller, user_id: int, filename: str, seen: datetime
) -> tuple[Change | None, PictureState]:
    """Make the version named `filename` the picture, unless it changed after `seen`."""
    authorise(session, caller=caller, user_id=user_id, action="picture.restore")
    # The lock before the comparison: two clients holding the same updatedAt cannot both pass.
    lock_member(session, user_id)
    current = picture_state(session, user_id)
    if seen < current.updated_at:
        refused(session, caller, "picture.restore", user_id, "stale updatedAt")
        raise StaleUpdate(current)
    try:
        version = _version_named(session, user_id, filename)
        change = pictures.restore(session, actor=caller.actor, user_id=user_id, version=version)
    except PictureError as error:
        refused(session, caller, "picture.restore", user_id, error.message)
        raise
    if change is None:  # it is the picture already: nothing changed, let the lock go
        session.rollback()
    return change, picture_state(session, user_id)


def _version_named(session: Session, user_id: int, filename: str) -> int:
    """The newest version with these files, a kept one before a deleted one."""
    picture = session.exec(
        select(ProfilePicture)
        .where(
            ProfilePicture.user_id == user_id,
            ProfilePicture.filename == filename,
            col(ProfilePicture.purged_at).is_(None),
        )
        .order_by(col(ProfilePicture.deleted_at).is_not(None), col(ProfilePicture.version).desc())
    ).first()
    if picture is None:
        raise PictureError(404, f"Member {user_id} has no picture named {filename}.")
    return picture.version


def delete_active(
    session: Session, *, caller: ApiCaller, user_id: int
) -> tuple[Change, PictureState]:
    authorise(session, caller=caller, user_id=user_id, action="picture.delete")
    try:
        change, _, _ = pictures.delete(session, actor=caller.actor, user_id=user_id)
    except PictureError as error:
        refused(session, caller, "picture.delete", user_id, error.message)
        if error.status == 404:  # the form's "You have no picture" is not true of an admin
            raise PictureError(404, f"Member {user_id} has no picture to delete.") from None
        raise
    return change, picture_state(session, user_id)
