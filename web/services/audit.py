"""The audit trail: every change and every refused attempt, one row each."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from db.models import AuditLog

OUTCOMES = ("ok", "denied", "invalid")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts, from where: the signed-in member or token owner (None: an operator at the
    command line), the client address, and for the API the token and its owner's admin flag."""

    user_id: int | None
    ip: str | None = None
    token_id: int | None = None
    is_admin: bool = False


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    outcome: str,
    subject_id: int | None = None,
    picture_id: int | None = None,
    detail: str = "",
) -> None:
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    session.add(
        AuditLog(
            actor_id=actor.user_id,
            action=action,
            subject_id=subject_id,
            picture_id=picture_id,
            ip=actor.ip,
            outcome=outcome,
            detail=detail[:500],
        )
    )
