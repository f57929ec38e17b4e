"""users: a GIN index of each directory key's characters and character pairs (PostgreSQL)

pg_trgm's index finds the keys holding a text of three letters or digits in a row; a shorter
text ("zq", "王") or one of other characters ("%_%") was found by reading the whole key index in
order, testing every key: 100,000 keys took 17-52 ms (issue 25's worst search). This index holds,
per key, every character and every pair of characters in it (`ppsync_grams`, an immutable SQL
function of the key), so `ppsync_grams(directory_key) @> ARRAY[the text's pairs]` narrows such
a search to the keys that may hold it. The search gives the planner both ways at once (this
index, then a sort; or the key index in order) and its statistics of the pairs choose: a rare
text through this index, a common one (found within a page) through the key index.

SQLite is unchanged: its FTS5 trigram table serves three characters or more, and a shorter text
is still walked (38.8 ms at load 20, under the 50 ms goal).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

GRAMS = """
CREATE FUNCTION ppsync_grams(key text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT substr(key, i, n)), '{}')
    FROM generate_series(1, 2) AS n, generate_series(1, length(key) - n + 1) AS i
$$"""
INDEX = "ix_users_directory_key_grams"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(GRAMS)
    op.execute(f"CREATE INDEX {INDEX} ON users USING gin (ppsync_grams(directory_key))")
    op.execute("ANALYZE users")  # the planner's statistics of the pairs, for the choice above


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX {INDEX}")
    op.execute("DROP FUNCTION ppsync_grams(text)")
