"""Who may act on a member's picture, and the audit trail of every refused attempt."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlmodel import Session

from db.models import User
from web.services import audit
from web.services.audit import Actor
from web.services.imaging import ImageRejected


class PictureError(Exception):
    """A request that cannot be met: HTTP status and a sentence for the member."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def authorise(session: Session, *, actor: Actor, user_id: int, action: str) -> None:
    """A member acts for themselves and an operator (the CLI) for anyone. A token acts for its
    own member, an admin's for anyone; refusals and admins' acts on others are audited."""
    if actor.user_id is None or actor.user_id == user_id:
        return
    exists = session.get(User, user_id) is not None
    if actor.is_admin and not exists:
        raise PictureError(404, f"There is no member {user_id}.")
    audit.record(
        session,
        actor=actor,
        action=action,
        outcome="ok" if actor.is_admin else "denied",
        subject_id=user_id if exists else None,
        detail=f"token {actor.token_id} for member {user_id}"
        + (" (admin)" if actor.is_admin else ""),
    )
    session.commit()
    if not actor.is_admin:
        raise PictureError(403, "This token acts for its own member only.")


@contextmanager
def refusals_audited(
    session: Session, *, actor: Actor, action: str, user_id: int
) -> Iterator[None]:
    """A refused attempt (a bad picture, a missing version, a conflict) is written to the audit
    log in a transaction of its own, after the attempt's own is rolled back."""
    try:
        yield
    except (ImageRejected, PictureError) as error:
        session.rollback()
        audit.record(
            session,
            actor=actor,
            action=action,
            outcome="invalid",
            subject_id=user_id,
            detail=error.code if isinstance(error, ImageRejected) else error.message,
        )
        session.commit()
        raise
