"""profile_pictures.recrop_of: the version a re-crop was cut from

A re-crop used to copy its source version's file name and size, so its history row showed the
original upload's details. With this column the row says "Re-crop of version N", and the
version's `file_size` is its own source's (the kept copy it was cut from). Rows made before it
stay null: an older re-crop cannot be told from a second upload of the same file for certain.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("profile_pictures") as table:
        table.add_column(sa.Column("recrop_of", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("profile_pictures") as table:
        table.drop_column("recrop_of")
