"""Members and pictures for tests, made through the same services the app uses."""

from __future__ import annotations

import io

from PIL import Image
from sqlmodel import Session

from db.models import UserProfile
from web.services.accounts import members
from web.services.pictures.storage import MediaStore

PASSWORD = "correct horse battery"


def add_member(db: Session, handle: str, display_name: str = "", *, admin: bool = False) -> int:
    user = members.create_member(
        db, handle=handle, display_name=display_name, password=PASSWORD, is_admin=admin
    )
    assert user.id is not None
    return user.id


def profile_of(db: Session, user_id: int) -> UserProfile:
    """The member's profile row as committed now (the session's copy refreshed)."""
    db.expire_all()
    profile = db.get(UserProfile, user_id)
    assert profile is not None
    return profile


def jpeg(colour: str = "red", size: tuple[int, int] = (300, 200)) -> bytes:
    """A plain photo-like upload for app-level tests (tests/images.py has the odd ones)."""
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


def stored_keys(store: MediaStore, folder: str) -> list[str]:
    """The keys a store lists under a folder."""
    return [item.key for item in store.keys_under(folder)]
