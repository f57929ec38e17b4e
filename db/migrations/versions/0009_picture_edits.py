"""profile_pictures.edits: the edits applied to a version's variants (issue 28)

A list of labels in the order they were applied: "enhance", "background:blur",
"background:color:#rrggbb" (docs/editing.md). Null for a version made without edits, and for
every version made before this column: none of those had any.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("profile_pictures") as table:
        table.add_column(sa.Column("edits", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("profile_pictures") as table:
        table.drop_column("edits")
