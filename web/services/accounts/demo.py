"""Generated members for trying the directory at scale and for benches (`ppsync seed-demo
--members N`): bulk inserts, a hundred thousand in seconds.

Names are drawn from short lists (so many members share a name, as on a real site, and the
directory's ties are exercised) with a few accented and non-Latin ones; handles are
`first-last-serial`, the serial going on from the highest member id, so seeding again adds
members beside the earlier ones. Every generated member has the one password the caller hashed
once: hashing each would take a quarter of a second apiece.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime
from itertools import islice

from sqlalchemy import JSON, Insert, exists, func, insert, literal, select, text
from sqlmodel import Session

from db.keys import directory_key, fold
from db.models import User, UserProfile
from db.types import UTCDateTime, utcnow
from web.services import commits

FIRST_NAMES = (  # noqa: SIM905  (a sentence of names reads better than a column)
    "Ada Alan Alice Amara Anja Aroha Bao Björn Carmen Chiara Chloé Dara Diego Elif Élodie Emeka "
    "Erik Farah Fatima Femi Greta Hana Hiroshi Ines Ingrid Ivan Jae Jamal José Julia Kai Kalani "
    "Karin Kenji Lars Lea Leila Liam Luca Maya Mei Milan Nadia Niamh Nikolai Noor Olga Oscar "
    "Paulo Priya Rafael Rosa Ruth Samir Sanjay Sara Sofia Søren Tariq Thandiwe Tomás Uma Vera "
    "Wei Yara Yusuf Zanele Zoë Zofia"
).split()
LAST_NAMES = (  # noqa: SIM905  (a sentence of names reads better than a column)
    "Abe Adeyemi Ahmed Andersen Bauer Becker Bianchi Brown Chen Costa Dubois Eriksson Fernández "
    "Fischer García Haddad Hansen Hoffmann Ivanova Jensen Jones Kaya Khan Kim Kowalski Larsen "
    "Lee Lopez Martin Meyer Moreau Müller Murphy Nguyen Novak Okafor O'Brien Papadopoulos Patel "
    "Pereira Petrov Rossi Santos Sato Schmidt Schulz Silva Smith Suzuki Tanaka Taylor Wagner "
    "Wang Weber Williams Wójcik Yamamoto Zhang Öztürk 王 李 Иванов"
).split()
_USERS, _PROFILES = User.__table__, UserProfile.__table__  # type: ignore[attr-defined]
_COLUMNS = ("handle", "display_name", "password_hash", "created_at", "is_admin", "directory_key")
BATCH = 10_000  # rows in memory at once, at any N


def generated(count: int, first_serial: int, seed: int = 25) -> Iterator[tuple[str, str]]:
    """(handle, display name) for `count` members, the same for the same arguments."""
    draw = random.Random(seed + first_serial)  # noqa: S311  (names for a demo, not secrets)
    for serial in range(first_serial, first_serial + count):
        first, last = draw.choice(FIRST_NAMES), draw.choice(LAST_NAMES)
        yield f"{_ascii(first)}-{_ascii(last)}-{serial}", f"{first} {last}"


def _ascii(name: str) -> str:
    """A handle's part for a name: its ASCII letters, folded ('Chloé': 'chloe'); 'x' when it
    has none."""
    letters = "".join(ch for ch in fold(name) if "a" <= ch <= "z")
    return letters[:8] or "x"


def add_members(session: Session, count: int, password_hash: str) -> int:
    """Add `count` generated members in bulk, each with an empty profile; commit. Their serials
    (in their handles) start after the highest member id; returns the first one."""
    newest = session.scalar(select(func.max(User.id))) or 0
    now = utcnow()
    rows = (
        (handle, name, password_hash, now, False, directory_key(name, handle))
        for handle, name in generated(count, newest + 1)
    )
    if session.get_bind().dialect.name == "postgresql":
        _copy_users(session, rows)
    else:
        _insert_users(session, rows)
    session.execute(_empty_profiles(newest, now))
    commits.note_member_added(session)  # ids read as missing may be theirs now
    session.commit()
    if session.get_bind().dialect.name == "postgresql":
        # The planner's statistics now, not at autovacuum's next pass: the search chooses its
        # index by how common a text's characters are (web/services/accounts/directory.py).
        session.execute(text("ANALYZE users"))
        session.commit()
    return newest + 1


def _insert_users(session: Session, rows: Iterator[tuple[object, ...]]) -> None:
    """SQLite: multi-row INSERTs, which SQLAlchemy makes of an INSERT ... RETURNING given many
    rows (1,000 a statement). Not one row a statement: the FTS5 index behind the users_search
    trigger writes its pending trigrams out at the end of every statement (ten times slower)."""
    add = insert(_USERS).returning(_USERS.c.id)
    while batch := [dict(zip(_COLUMNS, row, strict=True)) for row in islice(rows, BATCH)]:
        session.execute(add, batch).all()


def _copy_users(session: Session, rows: Iterator[tuple[object, ...]]) -> None:
    """PostgreSQL: COPY, ten times as fast as INSERTs (100,000 members: 2 s, not 25)."""
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY users ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _empty_profiles(newest: int, now: datetime) -> Insert:
    """One statement: a profile for each member after `newest` who has none (a member who
    signed up meanwhile has one already)."""
    new = select(
        _USERS.c.id,
        literal(0),
        literal(now, UTCDateTime()),
        literal({}, JSON()),
    ).where(
        _USERS.c.id > newest,
        ~exists().where(_PROFILES.c.user_id == _USERS.c.id),
    )
    columns = ["user_id", "picture_version", "updated_at", "preferences"]
    return insert(_PROFILES).from_select(columns, new)
