"""users.directory_key: the directory's order, keyset pages and search

Every member gets the key db/keys.py makes (the folded display name, a line feed, the handle),
under a unique B-tree index: the directory is read in its order, a page at a time, each page
starting after the last key of the one before. The search looks for the folded text inside the
key, through a trigram index on each backend: pg_trgm's GIN index on PostgreSQL (the extension is
created when missing; it is "trusted" since PostgreSQL 13, so the database's owner may create
it), an FTS5 table with the trigram tokenizer on SQLite, kept in step with `users` by triggers.

SQLite keeps the column's empty server default: dropping it means rebuilding `users`, and a
rebuild drops the old table, which with foreign keys on deletes every member's rows in the
tables that point at it. The model's own default fills the key on every insert.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.keys import MAX_KEY_CHARS, directory_key

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

KEY_TYPE = sa.String(MAX_KEY_CHARS).with_variant(
    sa.String(MAX_KEY_CHARS, collation="C"), "postgresql"
)
_USERS = sa.table(
    "users",
    sa.column("id", sa.Integer),
    sa.column("handle", sa.String),
    sa.column("display_name", sa.String),
    sa.column("directory_key", sa.String),
)
# External content: the index reads each key from `users`, and only the trigrams are stored.
SQLITE_SEARCH = (
    """CREATE VIRTUAL TABLE users_search USING fts5(
        directory_key, content='users', content_rowid='id',
        tokenize='trigram case_sensitive 1')""",
    """CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
        INSERT INTO users_search(rowid, directory_key) VALUES (new.id, new.directory_key);
    END""",
    """CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
        INSERT INTO users_search(users_search, rowid, directory_key)
        VALUES ('delete', old.id, old.directory_key);
    END""",
    """CREATE TRIGGER users_search_update AFTER UPDATE OF directory_key ON users BEGIN
        INSERT INTO users_search(users_search, rowid, directory_key)
        VALUES ('delete', old.id, old.directory_key);
        INSERT INTO users_search(rowid, directory_key) VALUES (new.id, new.directory_key);
    END""",
    "INSERT INTO users_search(users_search) VALUES ('rebuild')",
)
SQLITE_SEARCH_DOWN = (
    "DROP TRIGGER users_search_update",
    "DROP TRIGGER users_search_delete",
    "DROP TRIGGER users_search_insert",
    "DROP TABLE users_search",
)


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    op.add_column("users", sa.Column("directory_key", KEY_TYPE, nullable=False, server_default=""))
    _fill_keys(bind)
    if postgres:
        op.alter_column("users", "directory_key", server_default=None)
    op.create_index("ix_users_directory_key", "users", ["directory_key"], unique=True)
    if postgres:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            "ix_users_directory_key_trgm",
            "users",
            ["directory_key"],
            postgresql_using="gin",
            postgresql_ops={"directory_key": "gin_trgm_ops"},
        )
    else:
        for statement in SQLITE_SEARCH:
            op.execute(statement)


def _fill_keys(bind: sa.Connection) -> None:
    rows = bind.execute(sa.select(_USERS.c.id, _USERS.c.handle, _USERS.c.display_name)).all()
    if not rows:
        return
    keyed = [{"uid": uid, "key": directory_key(name, handle)} for uid, handle, name in rows]
    update = sa.update(_USERS).where(_USERS.c.id == sa.bindparam("uid"))
    bind.execute(update.values(directory_key=sa.bindparam("key")), keyed)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_users_directory_key_trgm", table_name="users")
    else:
        for statement in SQLITE_SEARCH_DOWN:
            op.execute(statement)
    op.drop_index("ix_users_directory_key", table_name="users")
    op.drop_column("users", "directory_key")
