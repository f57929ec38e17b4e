"""The tables of DESIGN.md, one class each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlmodel import Field, SQLModel

from db.keys import HANDLE_CHARS, MAX_KEY_CHARS, directory_key
from db.types import UTCDateTime, utcnow

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")
# The largest id of a member, picture or token (and the largest version): their columns are
# 32-bit INTEGERs on every backend. A bigger number names nothing; SQLite's driver cannot even
# bind one past 2**63 (OverflowError), so every way in refuses it first (web/plumbing/ids.py).
MAX_ID = 2**31 - 1
# A preview's data: URI (profile_pictures.preview): a tiny WebP is about 160 characters.
PREVIEW_MAX = 512


def is_id(value: int) -> bool:
    return 1 <= value <= MAX_ID


def _when(*, nullable: bool = True) -> Any:
    if nullable:
        return Field(default=None, sa_type=UTCDateTime, nullable=True)
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


# Byte order on both backends (db/keys.py): PostgreSQL's "C" collation is SQLite's BINARY.
KeyType = String(MAX_KEY_CHARS).with_variant(String(MAX_KEY_CHARS, collation="C"), "postgresql")


def _directory_key(context: DefaultExecutionContext) -> str:
    # Every insert that does not give the key gets it: a bulk insert, a test's own row. Names
    # and handles are not changed after sign-up; whatever comes to change one sets the key too.
    row = context.get_current_parameters()  # type: ignore[no-untyped-call]
    return directory_key(row["display_name"], row["handle"])


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        # The directory's order and keyset pages.
        Index("ix_users_directory_key", "directory_key", unique=True),
        # Its search on PostgreSQL: pg_trgm answers LIKE '%text%' from this index. SQLite's
        # counterpart is the FTS5 table users_search (trigram tokenizer), which the migration
        # makes with its triggers: a virtual table has no place among these models.
        Index(
            "ix_users_directory_key_trgm",
            "directory_key",
            postgresql_using="gin",
            postgresql_ops={"directory_key": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: int | None = Field(default=None, primary_key=True)
    handle: str = Field(max_length=HANDLE_CHARS, unique=True)
    display_name: str = Field(max_length=80)
    password_hash: str = Field(max_length=200)
    created_at: datetime = _when(nullable=False)
    is_admin: bool = False
    directory_key: str = Field(
        sa_column=Column("directory_key", KeyType, nullable=False, default=_directory_key)
    )


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=80)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)
    created_at: datetime = _when(nullable=False)
    last_used_at: datetime | None = _when()
    revoked_at: datetime | None = _when()


class ProfilePicture(SQLModel, table=True):
    __tablename__ = "profile_pictures"
    __table_args__ = (
        UniqueConstraint("user_id", "version", name="uq_profile_pictures_user_version"),
        Index("ix_profile_pictures_user_active", "user_id", "is_active"),
        Index("ix_profile_pictures_user_filename", "user_id", "filename"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    version: int
    filename: str = Field(max_length=64)
    original_name: str = Field(max_length=255)
    file_path: str = Field(max_length=255)
    file_size: int
    mime_type: str = Field(max_length=32)
    width: int
    height: int
    upload_date: datetime = _when(nullable=False)
    is_active: bool = False
    deleted_at: datetime | None = _when()
    purged_at: datetime | None = _when()
    # A re-crop's source version (its number); None for an upload or an import.
    recrop_of: int | None = None
    # The edits applied to its variants, as labels ("enhance", "background:blur"); None: none.
    edits: list[str] | None = Field(default=None, sa_column=Column("edits", JSON, nullable=True))
    # "metadata" is reserved by SQLAlchemy's declarative base, so the attribute is `meta`.
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column("metadata", JSON))
    # What a page paints before the picture arrives: a data: URI of a tiny WebP (a blurred
    # preview), or of the average colour for versions older than migration 0008.
    preview: str = Field(max_length=PREVIEW_MAX)


class UserProfile(SQLModel, table=True):
    __tablename__ = "user_profiles"

    user_id: int = Field(primary_key=True, foreign_key="users.id", ondelete="CASCADE")
    active_picture_id: int | None = Field(
        default=None, foreign_key="profile_pictures.id", ondelete="SET NULL"
    )
    profile_picture: str | None = Field(default=None, max_length=64)
    profile_picture_path: str | None = Field(default=None, max_length=255)
    picture_version: int = 0
    updated_at: datetime = _when(nullable=False)
    last_picture_sync: datetime | None = _when()
    preferences: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class SyncEvent(SQLModel, table=True):
    __tablename__ = "sync_events"

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=16)
    picture_version: int
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class SyncSession(SQLModel, table=True):
    __tablename__ = "sync_sessions"

    id: str = Field(primary_key=True, max_length=36)
    viewer_id: int | None = Field(
        default=None, foreign_key="users.id", ondelete="CASCADE", index=True
    )
    user_agent: str = Field(default="", max_length=255)
    connected_at: datetime = _when(nullable=False)
    last_event_id: int | None = Field(default=None, sa_type=BigInteger)
    last_seen_at: datetime = _when(nullable=False)
    disconnected_at: datetime | None = _when()


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    action: str = Field(max_length=40)
    subject_id: int | None = Field(
        default=None, foreign_key="users.id", ondelete="SET NULL", index=True
    )
    picture_id: int | None = Field(
        default=None, foreign_key="profile_pictures.id", ondelete="SET NULL"
    )
    ip: str | None = Field(default=None, max_length=45)
    outcome: str = Field(max_length=8)
    detail: str = Field(default="", max_length=500)


class IdempotencyKey(SQLModel, table=True):
    """An API client's `Idempotency-Key`: a retry gets the first answer, not a second change."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),)

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    # The caller (the token's member), not the member acted on: keys are the client's.
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    key: str = Field(max_length=255)
    fingerprint: str = Field(max_length=64)
    status: int | None = None  # None while the first request is still running
    response: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class WebSession(SQLModel, table=True):
    """A signed-in browser's session (web/db_store.py): kept here so a Redis outage or a
    restart signs no one out. Anonymous visitors have no row."""

    __tablename__ = "web_sessions"

    key: str = Field(primary_key=True, max_length=255)
    value: bytes = Field(sa_type=LargeBinary)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
