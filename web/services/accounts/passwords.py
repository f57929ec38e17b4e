"""Password hashing with Argon2id (memory-hard), rehashing when parameters change.

Each hash or check holds 64 MiB for about a quarter of a second. Callers on the web run them
on at most HASHING_SLOTS threads at once, behind a short queue with a share per address
(web/services/accounts/hashing.py), so a burst of logins is refused past it instead of taking
64 MiB each at the same time or waiting behind one another without end.
"""

from __future__ import annotations

import os
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
HASHING_SLOTS = os.cpu_count() or 1  # about one per core: more would only share the cores


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@cache
def dummy_hash() -> str:
    """Verified against for unknown handles, so timing does not reveal which handles exist."""
    return hash_password("not a real password, only here to spend the same time")
