"""The directory key: a member's place in the directory and the text its search reads.

One column does both. `directory_key(name, handle)` is the display name folded (below), a line
feed, then the handle: unique (handles are), ordered by name with the handle breaking ties
(a line feed sorts before every character a folded name can hold, so "Ann" comes before
"Ann Lee"), and compared byte by byte on both backends (SQLite's BINARY, PostgreSQL's "C"
collation), so the order and every keyset page are the same on SQLite and PostgreSQL. A search
folds its text the same way and looks for it inside the key; a folded search holds no line feed,
so a match never spans the name and the handle.

Folding is done here, in Python, not by the database: Unicode case folding ("Straße" as
"strasse"), NFKD with the combining marks dropped ("Élodie" is filed and found as "elodie"),
control characters dropped, runs of white space made one space. SQL's lower() differs between the
backends and SQLite's only knows ASCII.
"""

from __future__ import annotations

import unicodedata

HANDLE_CHARS = 30  # users.handle's length
# The longest key: a folded name can be longer than the 80 characters a name may have (folding
# can turn one character into three), so the name's part is cut where the key would overflow.
MAX_KEY_CHARS = 320
SEPARATOR = "\n"
_NAME_CHARS = MAX_KEY_CHARS - len(SEPARATOR) - HANDLE_CHARS


# ASCII's control characters that are not white space: what the general rule drops of ASCII.
_ASCII_CONTROLS = {ch: None for ch in (*range(32), 127) if not chr(ch).isspace()}


def fold(text: str) -> str:
    """`text` as keys and searches compare it."""
    if text.isascii():  # the same result, ten times sooner: most names and every handle
        return " ".join(text.translate(_ASCII_CONTROLS).split()).lower()
    # Decomposed before case folding (compatibility forms such as "ℌ" hide a capital) and after
    # it (folding "İ" makes a letter and a combining mark).
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    kept = "".join(
        " " if ch.isspace() else ch
        for ch in decomposed
        if not unicodedata.combining(ch) and (ch.isspace() or unicodedata.category(ch)[0] != "C")
    )
    return " ".join(kept.split())


def directory_key(display_name: str, handle: str) -> str:
    return f"{fold(display_name)[:_NAME_CHARS]}{SEPARATOR}{handle}"
