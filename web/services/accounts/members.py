"""Members: sign-up, sign-in, and the plain data pages show of them (avatars, cards, viewer)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select, SelectOfScalar

from db.keys import directory_key
from db.models import ProfilePicture, User, UserProfile
from web.services import commits
from web.services.accounts import passwords
from web.services.commits import Change
from web.services.pictures.avatars import Avatar
from web.services.pictures.names import picture_ref
from web.services.sync import record_change

HANDLE_RE = re.compile(r"[a-z0-9](?:[a-z0-9_-]{1,28}[a-z0-9])")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    handle: str
    display_name: str
    created_at: datetime
    avatar: Avatar
    directory_key: str  # the member's place in the directory (db/keys.py)


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in member, as pages and guards see them."""

    id: int
    handle: str
    display_name: str
    is_admin: bool
    avatar: Avatar


class MemberError(ValueError):
    """Sign-up fields that are not acceptable: field name -> message for the form."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def clean_display_name(raw: str) -> str:
    # NFKC folds look-alike forms; control characters would break layouts and logs.
    name = unicodedata.normalize("NFKC", raw).strip()
    return "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")


def signup_errors(handle: str, display_name: str, password: str) -> dict[str, str]:
    errors = {}
    if not HANDLE_RE.fullmatch(handle):
        errors["handle"] = (
            "A handle is 3 to 30 lower-case letters, digits, '-' or '_', "
            "starting and ending with a letter or digit."
        )
    if len(display_name) > 80:
        errors["display_name"] = "A display name is at most 80 characters."
    if len(password) < MIN_PASSWORD:
        errors["password"] = f"A password needs at least {MIN_PASSWORD} characters."
    elif len(password) > MAX_PASSWORD:
        errors["password"] = f"A password is at most {MAX_PASSWORD} characters."
    return errors


def _handle_taken(session: Session, handle: str) -> bool:
    return session.scalar(select(User.id).where(User.handle == handle)) is not None


def _taken(handle: str) -> MemberError:
    return MemberError({"handle": f"The handle '{handle}' is taken; pick another."})


def normal_handle(handle: str) -> str:
    """A handle as stored: what a member types, trimmed and lower-cased."""
    return handle.strip().lower()


def create_member(
    session: Session, *, handle: str, display_name: str, password: str, is_admin: bool = False
) -> User:
    handle = normal_handle(handle)
    name = clean_display_name(display_name) or handle
    errors = signup_errors(handle, name, password)
    if "handle" not in errors and _handle_taken(session, handle):
        errors |= _taken(handle).errors
    if errors:
        raise MemberError(errors)
    user = User(
        handle=handle,
        display_name=name,
        directory_key=directory_key(name, handle),
        password_hash=passwords.hash_password(password),
        is_admin=is_admin,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:  # a concurrent sign-up won the race for the handle
        session.rollback()
        raise _taken(handle) from None
    assert user.id is not None
    session.add(UserProfile(user_id=user.id))
    commits.note_member_added(session)  # an id read as missing may now be theirs
    session.commit()
    return user


def authenticate(session: Session, *, handle: str, password: str) -> int | None:
    """The member's id when the password matches."""
    user = session.scalar(select(User).where(User.handle == normal_handle(handle)))
    if user is None:
        passwords.verify_password(passwords.dummy_hash(), password)
        return None
    if not passwords.verify_password(user.password_hash, password):
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
        session.commit()
    return user.id


def viewer_by_id(session: Session, user_id: int) -> Viewer | None:
    row = session.execute(_member_query().where(User.id == user_id)).first()
    if row is None:
        return None
    user = row[0]
    return Viewer(
        id=user_id,
        handle=user.handle,
        display_name=user.display_name,
        is_admin=user.is_admin,
        avatar=_member(*row).avatar,
    )


def count_members(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)) or 0


def members_by_key(session: Session, keys: Sequence[str] | SelectOfScalar[str]) -> list[Member]:
    """The members of these directory keys (db/keys.py), or of the keys a query selects, in
    the directory's order."""
    key = col(User.directory_key)
    query = _member_query().where(key.in_(keys)).order_by(key)
    return [_member(*row) for row in session.execute(query)]


def member_by_handle(session: Session, handle: str) -> Member | None:
    row = session.execute(_member_query().where(User.handle == handle.lower())).first()
    return _member(*row) if row else None


def avatar_of(session: Session, user_id: int) -> Avatar | None:
    row = session.execute(_member_query().where(User.id == user_id)).first()
    return _member(*row).avatar if row else None


def _member_query() -> Select[User, int, Mapping[str, Any], ProfilePicture]:
    # Outer joins: the profile columns are None for a member without a picture.
    query = (
        select(User, UserProfile.picture_version, UserProfile.preferences, ProfilePicture)
        .join(UserProfile, col(UserProfile.user_id) == col(User.id), isouter=True)
        .join(
            ProfilePicture,
            col(ProfilePicture.id) == col(UserProfile.active_picture_id),
            isouter=True,
        )
    )
    return query


def _member(
    user: User,
    version: int | None,
    preferences: Mapping[str, Any] | None,
    picture: ProfilePicture | None,
) -> Member:
    assert user.id is not None
    avatar = Avatar(
        user_id=user.id,
        display_name=user.display_name,
        version=version or 0,
        picture=picture_ref(
            picture.user_id,
            picture.filename,
            picture.meta,
            picture.preview,
            animate=animates(preferences),
        )
        if picture
        else None,
    )
    return Member(
        id=user.id,
        handle=user.handle,
        display_name=user.display_name,
        created_at=user.created_at,
        avatar=avatar,
        directory_key=user.directory_key,
    )


def animates(preferences: Mapping[str, Any] | None) -> bool:
    """Whether the member lets their animated picture play (they can turn it off)."""
    return bool((preferences or {}).get("animate", True))


def set_animation(session: Session, *, user_id: int, animate: bool) -> Change | None:
    """Let the member's animated picture play, or show its still frame; None when unchanged."""
    profile = session.get(UserProfile, user_id, with_for_update=True)
    if profile is None or animates(profile.preferences) == animate:
        return None
    profile.preferences = (profile.preferences or {}) | {"animate": animate}
    change = record_change(session, user_id=user_id, kind="updated")
    session.commit()
    return change


def preferences_of(session: Session, user_id: int) -> dict[str, Any]:
    profile = session.get(UserProfile, user_id)
    return {"animate": animates(profile.preferences if profile else None)}
