"""API tokens: random, shown once, stored only as a SHA-256 hash, revocable."""

from __future__ import annotations

import hashlib
import secrets

from sqlmodel import Session

from db.models import ApiToken

TOKEN_PREFIX = "pps_"  # noqa: S105  (a marker that makes leaked tokens greppable)


def hash_token(token: str) -> str:
    # The token has 256 bits of entropy, so a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, *, user_id: int, name: str) -> str:
    """Store a new token for the member and return it: the only time it is ever visible."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user_id,
            name=name.strip()[:80] or "API token",
            token_hash=hash_token(token),
            prefix=token[:10],
        )
    )
    session.flush()
    return token
