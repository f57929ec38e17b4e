"""index profile_pictures by (user_id, filename), for the media handler

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_profile_pictures_user_filename", "profile_pictures", ["user_id", "filename"]
    )


def downgrade() -> None:
    op.drop_index("ix_profile_pictures_user_filename", table_name="profile_pictures")
