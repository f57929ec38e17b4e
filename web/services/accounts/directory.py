"""The member directory: pages in the order of the directory key (db/keys.py), and a search.

Pages are keyset pages, never OFFSET: a page is the PAGE_SIZE keys after the last key of the
page before (the cursor `after`), read from the key's unique B-tree index, so the thousandth
page costs what the first does and a member who joins meanwhile shifts nothing.

The search looks for the folded text inside the keys, and pages the same way. A trigram index
finds the keys that hold a text of three characters or more (PostgreSQL: pg_trgm's GIN index
answers LIKE '%text%'; SQLite: the FTS5 table users_search, trigram tokenizer, a phrase query).
Neither can hand the matches over in the directory's order, so a page is made one of two ways,
whichever is bounded for the text at hand:

- few matches (at most SPARSE_MATCHES): all of them come from the trigram index and the first
  PAGE_SIZE after the cursor are sorted out; the cost grows with the matches;
- many matches, or a text the index cannot narrow (one or two characters; on PostgreSQL, no
  three letters or digits in a row): the key index is read in order and each key tested for
  the text, until a page is full; with many matches that is soon, and at worst it is one pass
  over the key index. On PostgreSQL, a text the trigram index cannot narrow is also offered to
  a GIN index of every key's characters and pairs of characters (migration 0010), and the
  planner picks: a rare text's keys from there, sorted; a common one's by the walk.

Neither way reads more than about one pass over the key index, whatever the text: the worst
search is a short text that few keys hold, on SQLite (bench/directory.py, docs/performance.md).

Why trigrams, and not a B-tree index on a lower-cased key: a B-tree finds the keys that start
with the text, and a member is looked for by any part of the name or handle (a surname, the
middle of a handle), which would take a row per word or per suffix, and would still leave a
common start matching thousands of members, the same order-or-matches choice as here. Both
trigram indexes come with the backends (pg_trgm in PostgreSQL's contrib, FTS5 in the SQLite
Python ships) and find any three characters or more anywhere in the key.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Text, func, table
from sqlalchemy import column as sql_column
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from db.keys import MAX_KEY_CHARS, fold
from db.models import User
from web.services.accounts import members
from web.services.accounts.members import Member

PAGE_SIZE = 48  # cards a page: 2, 3, 4, 6 or 8 to a row, and well under 100 KB of HTML
MAX_SEARCH_CHARS = 100  # longer than any name a member types (80) or handle (30)
TRIGRAM = 3  # the fewest characters a trigram index can look up
# Up to this many matches are sorted; more: the key index is walked. Not lower: a first name is
# what people search for most, and its holders all sit together in the order (the key starts
# with the name), so a walk to them can be most of a pass; 2,000 sorted cost about as much.
SPARSE_MATCHES = 2000

_key = col(User.directory_key)
# For this transaction, as the walk beside the pairs index needs: a plan made for the text at
# hand (psycopg prepares a statement sent five times, and PostgreSQL's generic plan for it
# cannot know how common the pairs are: it walked for "zq", 39-54 ms against 0.03), and no
# parallel workers (told the keys are rarer than they are, the planner shares a walk among
# workers whose start costs more than the walk: 王 took 22 ms, 1.6 serially).
_PLANNED = sql_text(
    "SELECT set_config('plan_cache_mode', 'force_custom_plan', true),"
    " set_config('max_parallel_workers_per_gather', '0', true)"
)
_SEARCH = table("users_search", sql_column("rowid"), sql_column("directory_key"))


@dataclass(frozen=True, slots=True)
class Page:
    members: list[Member]
    after: str | None  # the next page's cursor: the last key of this one; None on the last page


class DirectoryError(ValueError):
    """A search or cursor the directory refuses; the message is for the person who sent it."""


def search_text(q: str) -> str:
    """What a search looks for: `q` folded as the keys are, a leading '@' (a handle) dropped."""
    return fold(q).removeprefix("@").strip()


def page(session: Session, *, q: str = "", after: str = "") -> Page:
    """The members after the cursor `after` (from the start when empty) whose name or handle
    holds `q` (everyone when it is empty), at most PAGE_SIZE of them."""
    _check(q, after)
    text = search_text(q)
    indexable = _indexable(session, text)
    few = _few_matches(session, text) if indexable else None
    if few is None:  # the keys in order, tested: one statement with the members' reads
        walk = select(_key).where(_key > after, *_holds(session, text, narrow=not indexable))
        keys: list[str] | SelectOfScalar[str] = walk.order_by(_key).limit(PAGE_SIZE + 1)
    else:  # Python orders str by code point, as both backends order the keys (db/keys.py)
        keys = heapq.nsmallest(PAGE_SIZE + 1, (key for key in few if key > after))
    # One more than a page says whether there is a next page.
    listed = members.members_by_key(session, keys)
    more = len(listed) > PAGE_SIZE
    listed = listed[:PAGE_SIZE]
    return Page(listed, listed[-1].directory_key if more else None)


def _check(q: str, after: str) -> None:
    if len(q) > MAX_SEARCH_CHARS:
        raise DirectoryError(f"A search is at most {MAX_SEARCH_CHARS} characters.")
    # No key is longer, and none holds a NUL (which PostgreSQL cannot even compare).
    if len(after) > MAX_KEY_CHARS or "\x00" in after:
        raise DirectoryError("This link to a page of the directory is damaged; start again.")


def _indexable(session: Session, text: str) -> bool:
    """Whether the trigram index narrows the search for `text`. SQLite's FTS5 trigrams are any
    three characters; pg_trgm makes them of letters and digits only, a word at a time, so a
    text without three of them in a row ("o'b", "%_") would make it hand over most rows."""
    if _dialect(session) != "postgresql":
        return len(text) >= TRIGRAM
    run = 0
    for ch in text:
        run = run + 1 if ch.isalnum() else 0
        if run == TRIGRAM:
            return True
    return False


def _few_matches(session: Session, text: str) -> list[str] | None:
    """The keys that hold `text`, from the trigram index, in no order; None when there are more
    than SPARSE_MATCHES (reading no more than one past them). The cursor is applied by the
    caller: given to the database beside the match, it could lead the planner to walk the key
    index from the cursor and test each key against the matches (SQLite did, 100 ms)."""
    if _dialect(session) == "postgresql":
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        matches: ColumnElement[bool] = _key.like(f"%{escaped}%")  # '\' is LIKE's escape there
    else:
        phrase = '"' + text.replace('"', '""') + '"'  # one FTS5 string: every character as is
        rows = select(_SEARCH.c.rowid).where(_SEARCH.c.directory_key.match(phrase))
        matches = col(User.id).in_(rows.scalar_subquery())
    query = select(_key).where(matches).limit(SPARSE_MATCHES + 1)
    found = list(session.scalars(query))
    return found if len(found) <= SPARSE_MATCHES else None


def _holds(session: Session, text: str, *, narrow: bool) -> list[ColumnElement[bool]]:
    """The key holds `text` (no test when it is empty), tested key by key: a plain substring
    test, which no trigram index serves, so the planner keeps to the key index's order. With
    `narrow`, on PostgreSQL, a text the trigram index cannot narrow is also looked up in the
    pairs index (migration 0010): the planner, knowing how common its pairs are, reads a rare
    one's few keys from there and sorts them, and walks the key index for a common one."""
    if not text:
        return []
    if _dialect(session) != "postgresql":
        return [func.instr(_key, text) > 0]
    holds = [func.strpos(_key, text) > 0]
    if narrow:
        grams = func.ppsync_grams(_key, type_=ARRAY(Text()))
        holds.append(grams.contains(pairs(text)))
        session.execute(_PLANNED)
    return holds


def pairs(text: str) -> list[str]:
    """The pairs of characters in `text` (the character itself for one): a key holding `text`
    holds every one of them (migration 0010's ppsync_grams)."""
    return sorted({text[i : i + 2] for i in range(len(text) - 1)}) or [text]


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name
