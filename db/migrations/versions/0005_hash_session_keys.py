"""web_sessions: keep each session id's SHA-256, not the id itself

A copy of the table (a backup, a read-only leak) then names no session a browser could present.
The rows are rewritten in place, so every session survives the upgrade; a downgrade cannot undo
a hash and deletes them (everyone signs in again).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TABLE = sa.table("web_sessions", sa.column("key", sa.String))


def upgrade() -> None:
    bind = op.get_bind()
    for (key,) in bind.execute(sa.select(_TABLE.c.key)).all():
        # The key as web/plumbing/session_store.py writes it, "namespace:id", frozen here as it was.
        namespace, _, session_id = key.partition(":")
        hashed = f"{namespace}:{hashlib.sha256(session_id.encode()).hexdigest()}"
        bind.execute(sa.update(_TABLE).where(_TABLE.c.key == key).values(key=hashed))


def downgrade() -> None:
    op.execute(sa.delete(_TABLE))
