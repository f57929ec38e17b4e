"""profile_pictures.preview: what a page paints before a picture arrives

New versions get a blurred preview made at upload (a tiny WebP as a data: URI). Versions made
before it get their average colour, which the upload had already recorded in the metadata's
"placeholder": an SVG square of that colour, as a data: URI. That needs no picture file, so the
migration never reads the media store.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_TABLE = sa.table(
    "profile_pictures",
    sa.column("id", sa.Integer),
    sa.column("metadata", sa.JSON),
    sa.column("preview", sa.String),
)
_COLOUR = re.compile(r"#[0-9a-f]{6}")
# The fallback the pages drew before (web/services/pictures/names.py), frozen here as it was.
_GREY = "#888888"


def colour_preview(colour: str) -> str:
    """A data: URI of a square of one colour; '#' is '%23' in a URI."""
    fill = colour if _COLOUR.fullmatch(colour) else _GREY
    return (
        "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 1 1'%3E"
        f"%3Crect width='1' height='1' fill='%23{fill[1:]}'/%3E%3C/svg%3E"
    )


def upgrade() -> None:
    with op.batch_alter_table("profile_pictures") as batch:
        batch.add_column(sa.Column("preview", sa.String(512), nullable=True))
    bind = op.get_bind()
    for row_id, meta in bind.execute(sa.select(_TABLE.c.id, _TABLE.c.metadata)).all():
        colour = str((meta or {}).get("placeholder", _GREY))
        bind.execute(
            sa.update(_TABLE).where(_TABLE.c.id == row_id).values(preview=colour_preview(colour))
        )
    with op.batch_alter_table("profile_pictures") as batch:
        batch.alter_column("preview", existing_type=sa.String(512), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("profile_pictures") as batch:
        batch.drop_column("preview")
