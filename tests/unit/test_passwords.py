"""The password hashers: Argon2id, and the fast one that only tests may choose."""

from __future__ import annotations

import pytest

from web.services.accounts import passwords
from web.settings import ARGON2, FAST_INSECURE_HASHER

SECRET = "correct horse battery"


def test_argon2_hashes_are_argon2id_and_verify() -> None:
    passwords.use(ARGON2)
    made = passwords.hash_password(SECRET)
    assert made.startswith("$argon2id$")
    assert passwords.verify_password(made, SECRET)
    assert not passwords.verify_password(made, SECRET + "!")
    assert not passwords.needs_rehash(made)


def test_fast_hashes_are_marked_salted_and_verify_only_the_right_password() -> None:
    passwords.use(FAST_INSECURE_HASHER)
    made = passwords.hash_password(SECRET)
    assert made.startswith("$fast-insecure-test-only$")
    assert made != passwords.hash_password(SECRET)
    assert passwords.verify_password(made, SECRET)
    assert not passwords.verify_password(made, SECRET + "!")


def test_a_fast_hash_never_verifies_under_argon2() -> None:
    passwords.use(FAST_INSECURE_HASHER)
    made = passwords.hash_password(SECRET)
    passwords.use(ARGON2)
    assert not passwords.verify_password(made, SECRET)
    assert passwords.needs_rehash(made)


def test_argon2_hashes_still_verify_under_the_fast_hasher() -> None:
    passwords.use(ARGON2)
    made = passwords.hash_password(SECRET)
    passwords.use(FAST_INSECURE_HASHER)
    assert passwords.verify_password(made, SECRET)
    assert not passwords.verify_password(made, "wrong password")


def test_the_unknown_handle_dummy_is_made_by_the_chosen_hasher() -> None:
    passwords.use(ARGON2)
    assert passwords.dummy_hash().startswith("$argon2id$")
    passwords.use(FAST_INSECURE_HASHER)
    assert passwords.dummy_hash().startswith("$fast-insecure-test-only$")


def test_an_unknown_hasher_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown password hasher"):
        passwords.use("md5")
