"""Password hashing with Argon2id (memory-hard), rehashing when parameters change.

Each hash or check holds 64 MiB for about a quarter of a second. Callers on the web run them
on at most HASHING_SLOTS threads at once, behind a short queue with a share per address
(web/services/accounts/hashing.py), so a burst of logins is refused past it instead of taking
64 MiB each at the same time or waiting behind one another without end.

Tests may choose a fast, insecure hasher instead (PASSWORD_HASHER, which APP_ENV=production
refuses): its hashes carry their own mark and never verify while Argon2 is chosen.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from web.settings import ARGON2, FAST_INSECURE_HASHER, PASSWORD_HASHERS

HASHING_SLOTS = os.cpu_count() or 1  # about one per core: more would only share the cores

_argon2 = PasswordHasher()
_FAST_MARK = f"${FAST_INSECURE_HASHER}$"
_chosen = ARGON2  # Settings.password_hasher: create_app and the CLI choose for their process


def use(hasher: str) -> None:
    """Hash (and accept) passwords with `hasher` from now on, in this process."""
    global _chosen
    if hasher not in PASSWORD_HASHERS:
        raise ValueError(f"unknown password hasher {hasher!r}")
    _chosen = hasher


def hash_password(password: str) -> str:
    if _chosen == FAST_INSECURE_HASHER:
        salt = secrets.token_hex(8)
        return f"{_FAST_MARK}{salt}${_fast_digest(salt, password)}"
    return _argon2.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    if password_hash.startswith(_FAST_MARK):
        return _chosen == FAST_INSECURE_HASHER and _fast_verify(password_hash, password)
    try:
        return _argon2.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    if _chosen == FAST_INSECURE_HASHER:
        return False  # tests keep whatever hash a member has
    return password_hash.startswith(_FAST_MARK) or _argon2.check_needs_rehash(password_hash)


def dummy_hash() -> str:
    """Verified against for unknown handles, so timing does not reveal which handles exist."""
    return _dummy_hash(_chosen)


@cache
def _dummy_hash(_hasher: str) -> str:
    return hash_password("not a real password, only here to spend the same time")


def _fast_digest(salt: str, password: str) -> str:
    return hashlib.sha256(f"{salt}:{password}".encode()).hexdigest()


def _fast_verify(password_hash: str, password: str) -> bool:
    salt, _, digest = password_hash.removeprefix(_FAST_MARK).partition("$")
    return hmac.compare_digest(digest, _fast_digest(salt, password))
