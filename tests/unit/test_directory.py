"""The directory's keyset pages and search (web/services/accounts/directory.py), on SQLite and
on PostgreSQL: every member once and in order across pages, ties in the name, the last page,
searches that are empty, hostile (long, LIKE's wildcards, FTS5's quotes, control characters)
or in other scripts, and the two ways a search page is made agreeing with each other."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text, update
from sqlmodel import Session, col, select

from db import migrate
from db.engine import make_engine
from db.keys import directory_key, fold
from db.models import User
from tests.conftest import Migrate
from tests.factories import add_member
from tests.services import fresh_postgres_database
from web.services.accounts import demo, directory
from web.services.accounts.directory import PAGE_SIZE, DirectoryError


@pytest.fixture(scope="module")
def postgres_engine() -> Iterator[Engine]:
    """One throwaway PostgreSQL database for the module, emptied before each test."""
    with fresh_postgres_database() as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        yield engine
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def session(request: pytest.FixtureRequest, tmp_path: Path, migrated: Migrate) -> Iterator[Session]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'directory.db'}"
        migrated(url)
        engine = make_engine(url)
    else:
        engine = request.getfixturevalue("postgres_engine")
        with engine.begin() as connection:
            connection.execute(text("TRUNCATE users RESTART IDENTITY CASCADE"))
    with Session(engine, expire_on_commit=False) as opened:
        yield opened
    if request.param == "sqlite":
        engine.dispose()


def walk(session: Session, q: str = "") -> list[list[str]]:
    """Every page of the directory (of a search), following each page's cursor: handles."""
    pages, after = [], ""
    while True:
        page = directory.page(session, q=q, after=after)
        pages.append([member.handle for member in page.members])
        if page.after is None:
            return pages
        assert len(page.members) == PAGE_SIZE
        after = page.after


def found(session: Session, q: str) -> list[str]:
    return [handle for page in walk(session, q) for handle in page]


def every_key_in_order(session: Session) -> list[str]:
    keys = session.scalars(select(User.directory_key)).all()
    return [key.rpartition("\n")[2] for key in sorted(keys)]


def test_pages_hold_every_member_once_in_name_order(session: Session) -> None:
    demo.add_members(session, 2 * PAGE_SIZE + 7, "x")
    pages = walk(session)
    assert [len(page) for page in pages] == [PAGE_SIZE, PAGE_SIZE, 7]
    assert [handle for page in pages for handle in page] == every_key_in_order(session)


def test_a_tie_in_the_name_is_broken_by_the_handle_across_a_page_boundary(
    session: Session,
) -> None:
    add_member(session, "aaron", "Aaron Zed")  # before the tie
    handles = [f"sam-{n:03}" for n in range(PAGE_SIZE + 5)]
    for handle in reversed(handles):
        add_member(session, handle, "Sam Lee")
    add_member(session, "samantha", "Sam Leeds")  # a longer name: after every "Sam Lee"
    first, second = walk(session)
    assert first == ["aaron", *handles[: PAGE_SIZE - 1]]
    assert second == [*handles[PAGE_SIZE - 1 :], "samantha"]


def test_a_full_last_page_has_no_next_page(session: Session) -> None:
    demo.add_members(session, PAGE_SIZE, "x")
    assert [len(page) for page in walk(session)] == [PAGE_SIZE]
    add_member(session, "zz-top", "Zz Top")
    assert [len(page) for page in walk(session)] == [PAGE_SIZE, 1]


def test_an_empty_directory_and_a_cursor_past_the_end_are_empty_pages(session: Session) -> None:
    assert directory.page(session) == directory.Page([], None)
    add_member(session, "alice", "Alice")
    assert directory.page(session, after="\U0010ffff").members == []


@pytest.mark.parametrize("q", ["", "   ", "@", " @ ", "\x00\t"])
def test_an_empty_search_is_the_whole_directory(session: Session, q: str) -> None:
    demo.add_members(session, PAGE_SIZE + 1, "x")
    assert walk(session, q) == walk(session)


def test_search_finds_part_of_a_name_or_handle_without_regard_to_case_or_accents(
    session: Session,
) -> None:
    alice = add_member(session, "alice", "Alice Liddell")
    add_member(session, "elodie", "Élodie Durand")
    add_member(session, "bob", "Bob Marley")
    assert found(session, "LIDD") == ["alice"]
    assert found(session, "lid") == ["alice"]
    assert found(session, "ice li") == ["alice"]
    assert found(session, "@ALI") == ["alice"]
    assert found(session, "élodie") == found(session, "ELODIE") == ["elodie"]
    assert found(session, "o") == ["bob", "elodie"]  # in the directory's order
    assert found(session, "ob mar") == ["bob"]
    assert found(session, "marleyx") == []
    assert directory.page(session, q="Lidd").members[0].avatar.user_id == alice


def test_a_search_never_spans_the_name_and_the_handle(session: Session) -> None:
    add_member(session, "smith", "Anna")
    assert found(session, "anna") == ["smith"]
    assert found(session, "annasmith") == found(session, "anna smith") == []


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("%", ["percent"]),
        ("_", ["snake_case"]),  # "_" in a handle
        ("0%", ["percent"]),
        ("100% sure", ["percent"]),
        ("ke_ca", ["snake_case"]),
        ("snake_case", ["snake_case"]),
        ("ake%cas", []),
        ("%_%", []),
        ("\\", ["backslash"]),
        ('"', ["quote"]),
        ('say "hi', ["quote"]),
        ('"" OR *', []),
        ("*", []),
        ("[a]", []),
    ],
)
def test_like_wildcards_and_fts_syntax_are_plain_characters(
    session: Session, q: str, expected: list[str]
) -> None:
    add_member(session, "percent", "100% Sure")
    add_member(session, "snake_case", "Snake Case")
    add_member(session, "snakexcase", "SnakeXcase")
    add_member(session, "backslash", "Back\\Slash")
    add_member(session, "quote", 'Say "Hi"')
    add_member(session, "plain", "A B")
    assert found(session, q) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("王", ["wang"]),
        ("小明", ["wang"]),
        ("ИВАН", ["ivanov"]),
        ("strasse", ["strauss"]),
        ("STRAẞE", ["strauss"]),
        ("zoe", ["zoe"]),
        ("😀", ["smiley"]),
        ("ali\u0301ce", ["alice"]),  # a combining accent is dropped as from the keys
        ("a\x00l\x07i", ["alice"]),  # control characters are dropped, never sent to SQL
    ],
)
def test_searches_in_other_scripts(session: Session, q: str, expected: list[str]) -> None:
    for handle, name in [
        ("wang", "王小明"),
        ("ivanov", "Иван Иванов"),
        ("strauss", "Johann Straße"),
        ("zoe", "Zoë"),
        ("smiley", "Happy 😀 Face"),
        ("alice", "Alice"),
    ]:
        add_member(session, handle, name)
    assert found(session, q) == expected


def test_the_longest_search_is_answered_and_a_longer_one_refused(session: Session) -> None:
    add_member(session, "alice", "Alice")
    assert directory.page(session, q="a" * directory.MAX_SEARCH_CHARS).members == []
    with pytest.raises(DirectoryError, match="A search is at most 100 characters."):
        directory.page(session, q="a" * (directory.MAX_SEARCH_CHARS + 1))


@pytest.mark.parametrize("after", ["x" * 321, "alice\x00", "\x00"])
def test_a_damaged_cursor_is_refused(session: Session, after: str) -> None:
    with pytest.raises(DirectoryError, match="damaged"):
        directory.page(session, after=after)


@pytest.mark.parametrize("q", ["an", "ann", "schmid", "a s", "o'b", "王", "-1"])
def test_the_sorted_matches_and_the_walk_in_order_agree(
    session: Session, monkeypatch: pytest.MonkeyPatch, q: str
) -> None:
    """A search made from the index's few matches, and the same search made by walking the
    key index (as when the matches are many), give the same pages."""
    demo.add_members(session, 600, "x")
    few = walk(session, q)
    monkeypatch.setattr(directory, "SPARSE_MATCHES", 0)
    assert walk(session, q) == few
    assert sum(map(len, few)) > 0


def test_folding_makes_one_form_of_each_text() -> None:
    assert fold("  Élodie\u00a0 DURAND\t") == "elodie durand"
    assert fold("Straße") == fold("STRASSE") == "strasse"
    assert fold("ℌilbert") == "hilbert"
    assert fold("İstanbul") == "istanbul"
    assert fold("a\x00b\x7fc") == "abc"
    for written in ["Zoë", "王小明", "ǅemal", "ﷺ", "x" * 80]:
        assert fold(fold(written)) == fold(written)


def test_the_key_orders_by_name_then_handle_and_keeps_them_apart() -> None:
    keys = [directory_key("Ann Lee", "b"), directory_key("Ann", "z"), directory_key("Ann Lee", "a")]
    assert sorted(keys) == ["ann\nz", "ann lee\na", "ann lee\nb"]
    assert len(directory_key("ß" * 80, "h" * 30)) <= 320


def test_the_search_index_follows_a_member_who_leaves_or_is_renamed(session: Session) -> None:
    """SQLite's FTS5 table is kept by triggers; PostgreSQL's index is the table's own."""
    alice = add_member(session, "alice", "Alice Liddell")
    alina = add_member(session, "alina", "Alina Liddle")
    assert found(session, "lidd") == ["alice", "alina"]
    session.delete(session.get(User, alice))
    name = "Alina Brown"
    renamed = {"display_name": name, "directory_key": directory_key(name, "alina")}
    session.execute(update(User).where(col(User.id) == alina).values(renamed))
    session.commit()
    assert found(session, "lidd") == []
    assert found(session, "brown") == ["alina"]


@pytest.mark.postgres
@pytest.mark.parametrize("key", ["王小明\nwang", "happy 😀 face\nsmiley", "zq", "a", "100% sure"])
def test_the_pairs_index_holds_every_pair_the_search_asks_for(
    postgres_engine: Engine, key: str
) -> None:
    """Migration 0010's ppsync_grams counts characters as Python does: each of a text's pairs
    (directory.pairs) is among the pairs of any key that holds it."""
    with postgres_engine.connect() as connection:
        grams = connection.execute(text("SELECT ppsync_grams(:key)"), {"key": key}).scalar_one()
    for start in range(len(key)):
        for end in range(start + 1, len(key) + 1):
            assert set(directory.pairs(key[start:end])) <= set(grams)
