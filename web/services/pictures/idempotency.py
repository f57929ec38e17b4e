"""Idempotency keys (the IETF `Idempotency-Key` header): a retried request gets the first answer.

The first request with a key claims it (a committed row without an answer), does its work, and
stores its answer; a retry of the same request gets that answer, and makes no second change.
The key is the client's: unique per calling member. A failed request releases its key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from db.models import IdempotencyKey
from db.types import utcnow

KEEP_FOR = timedelta(hours=24)  # a retry later than this is a new request
# A claim this old without an answer belongs to a request that died (a crashed process).
ABANDONED_AFTER = timedelta(minutes=5)


class IdempotencyError(Exception):
    """The key cannot be used now: HTTP status and a sentence for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    status: int
    body: dict[str, Any]


def fingerprint(*parts: bytes) -> str:
    """A digest of the request's meaningful parts; length-prefixed, so parts cannot run together."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def claim(
    session: Session, *, user_id: int, key: str, fingerprint: str, now: datetime | None = None
) -> StoredAnswer | None:
    """None when the key is now the caller's to use; the first answer when this is a retry."""
    now = now or utcnow()
    row = _row(session, user_id, key)
    if row is None or _expired(row, now):
        _take(session, user_id, key, fingerprint, now)
        return None
    if row.fingerprint != fingerprint:
        raise IdempotencyError(
            422, "This Idempotency-Key was used for a different request; use a new key."
        )
    if row.status is None or row.response is None:
        raise IdempotencyError(
            409, "A request with this Idempotency-Key is still in progress; retry later."
        )
    return StoredAnswer(row.status, row.response)


def complete(
    session: Session, *, user_id: int, key: str, status: int, body: dict[str, Any]
) -> None:
    row = _row(session, user_id, key)
    if row is not None:
        row.status = status
        row.response = body
        session.commit()


def release(session: Session, *, user_id: int, key: str) -> None:
    """The request failed: nothing was changed, so the key may be used again."""
    session.rollback()
    session.execute(
        delete(IdempotencyKey).where(
            col(IdempotencyKey.user_id) == user_id,
            col(IdempotencyKey.key) == key,
            col(IdempotencyKey.status).is_(None),
        )
    )
    session.commit()


def _row(session: Session, user_id: int, key: str) -> IdempotencyKey | None:
    return session.exec(
        select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
    ).first()


def _expired(row: IdempotencyKey, now: datetime) -> bool:
    if row.status is None:
        return row.created_at < now - ABANDONED_AFTER
    return row.created_at < now - KEEP_FOR


def _take(session: Session, user_id: int, key: str, fingerprint: str, now: datetime) -> None:
    """Claim the key, dropping the member's expired keys (this one too, if it is) first."""
    session.execute(
        delete(IdempotencyKey).where(
            col(IdempotencyKey.user_id) == user_id,
            (col(IdempotencyKey.created_at) < now - KEEP_FOR)
            | (
                col(IdempotencyKey.status).is_(None)
                & (col(IdempotencyKey.created_at) < now - ABANDONED_AFTER)
            ),
        )
    )
    session.add(IdempotencyKey(user_id=user_id, key=key, fingerprint=fingerprint, created_at=now))
    try:
        session.commit()
    except IntegrityError:  # a concurrent first try took the key a moment ago
        session.rollback()
        raise IdempotencyError(
            409, "A request with this Idempotency-Key is still in progress; retry later."
        ) from None
