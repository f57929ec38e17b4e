"""API tokens: random, shown once, stored only as a SHA-256 hash; who a Bearer token acts for,
the member's list, revocation.

A token is looked up by its hash on every request and must not be revoked, so a revocation
takes effect at once, in every process. Every change to the list (a token made, revoked, or
used for the first time in TOUCH_EVERY) writes a `tokens` sync event: the member's open token
pages follow it live.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from db.models import ApiToken, User
from db.types import utcnow
from web.services import audit
from web.services.audit import Actor
from web.services.sync import TOKENS, record_change

# last_used_at is written at most this often per token: a busy client costs no write per call.
TOUCH_EVERY = timedelta(minutes=1)
MAX_TOKEN_LENGTH = 128  # ours are 47 characters; longer is not one of ours, refused unhashed
MAX_ACTIVE_TOKENS = 10  # live (not revoked) tokens per member
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


@dataclass(frozen=True, slots=True)
class ApiCaller:
    """The member a valid token acts for."""

    user_id: int
    is_admin: bool
    token_id: int
    ip: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id, self.ip, token_id=self.token_id, is_admin=self.is_admin)


@dataclass(frozen=True, slots=True)
class TokenView:
    """A token as its owner sees it on /profile: never the token itself."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, else None."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return token


def looks_like_token(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX) and len(token) <= MAX_TOKEN_LENGTH


def authenticate(
    session: Session, token: str, *, ip: str | None = None, now: datetime | None = None
) -> ApiCaller | None:
    """The caller of a live (not revoked) token; notes when the token was last used."""
    if not looks_like_token(token):
        return None
    row = session.exec(
        select(ApiToken, User.is_admin)
        .join(User, col(User.id) == col(ApiToken.user_id))
        .where(ApiToken.token_hash == hash_token(token), col(ApiToken.revoked_at).is_(None))
    ).first()
    if row is None:
        return None
    found, is_admin = row
    assert found.id is not None
    _touch(session, found, now or utcnow())
    return ApiCaller(user_id=found.user_id, is_admin=is_admin, token_id=found.id, ip=ip)


def _touch(session: Session, token: ApiToken, now: datetime) -> None:
    if token.last_used_at is not None and token.last_used_at > now - TOUCH_EVERY:
        return
    session.execute(update(ApiToken).where(col(ApiToken.id) == token.id).values(last_used_at=now))
    record_change(session, user_id=token.user_id, kind=TOKENS)
    session.commit()


def list_tokens(session: Session, user_id: int) -> list[TokenView]:
    """The member's live tokens, newest first."""
    rows = session.exec(
        select(ApiToken)
        .where(ApiToken.user_id == user_id, col(ApiToken.revoked_at).is_(None))
        .order_by(col(ApiToken.id).desc())
    )
    return [
        TokenView(t.id, t.name, t.prefix, t.created_at, t.last_used_at)
        for t in rows
        if t.id is not None
    ]


class TooManyTokens(ValueError):
    """The member already has MAX_ACTIVE_TOKENS live tokens."""

    def __init__(self) -> None:
        super().__init__(
            f"You already have {MAX_ACTIVE_TOKENS} API tokens, the most a member may have: "
            "revoke one you no longer use first."
        )
        self.message = str(self)


def issue_token(session: Session, *, actor: Actor, name: str, user_id: int | None = None) -> str:
    """A new token for the acting member (or, by an operator, for `user_id`), audited;
    returned once, stored only as a hash. TooManyTokens past MAX_ACTIVE_TOKENS live ones."""
    owner = actor.user_id if user_id is None else user_id
    assert owner is not None
    # The member's row, locked: two requests at once cannot both take the last free place.
    session.exec(select(User.id).where(User.id == owner).with_for_update()).first()
    live = session.scalar(
        select(func.count())
        .select_from(ApiToken)
        .where(ApiToken.user_id == owner, col(ApiToken.revoked_at).is_(None))
    )
    if (live or 0) >= MAX_ACTIVE_TOKENS:
        session.rollback()
        raise TooManyTokens()
    token = create_token(session, user_id=owner, name=name)
    audit.record(
        session,
        actor=actor,
        action="token.create",
        outcome="ok",
        subject_id=owner,
        detail=f"prefix {token[:10]}",
    )
    record_change(session, user_id=owner, kind=TOKENS)
    session.commit()
    return token


def revoke_token(session: Session, *, actor: Actor, token_id: int) -> str | None:
    """Revoke one of the acting member's live tokens: its name, or None when there is none."""
    token = session.exec(
        select(ApiToken).where(
            ApiToken.id == token_id,
            ApiToken.user_id == actor.user_id,
            col(ApiToken.revoked_at).is_(None),
        )
    ).first()
    if token is None:
        return None
    token.revoked_at = utcnow()
    audit.record(
        session,
        actor=actor,
        action="token.revoke",
        outcome="ok",
        subject_id=actor.user_id,
        detail=f"prefix {token.prefix}",
    )
    record_change(session, user_id=token.user_id, kind=TOKENS)
    session.commit()
    return token.name
