"""Who may act through the JSON API: a token for its own member, an admin's for anyone.

Refusals, and admins' acts on other members, are written to the audit log.
"""

from __future__ import annotations

from sqlmodel import Session

from db.models import User
from web.services import audit, pictures
from web.services.api_auth import ApiCaller

PictureError = pictures.PictureError


def authorise(session: Session, *, caller: ApiCaller, user_id: int, action: str) -> None:
    """A token acts for its own member; an admin's for anyone. Refusals and admins' acts on
    other members are audited (their changes are audited by `pictures` as well)."""
    if caller.user_id == user_id:
        return
    exists = session.get(User, user_id) is not None
    if caller.is_admin and not exists:
        raise PictureError(404, f"There is no member {user_id}.")
    outcome = "ok" if caller.is_admin else "denied"
    audit.record(
        session,
        actor=caller.actor,
        action=action,
        outcome=outcome,
        subject_id=user_id if exists else None,
        detail=f"token {caller.token_id} for member {user_id}"
        + (" (admin)" if caller.is_admin else ""),
    )
    session.commit()
    if not caller.is_admin:
        raise PictureError(403, "This token acts for its own member only.")


def refused(session: Session, caller: ApiCaller, action: str, user_id: int, detail: str) -> None:
    """A refused change, in a transaction of its own (the attempt wrote nothing)."""
    session.rollback()
    audit.record(
        session,
        actor=caller.actor,
        action=action,
        outcome="invalid",
        subject_id=user_id,
        detail=detail,
    )
    session.commit()
