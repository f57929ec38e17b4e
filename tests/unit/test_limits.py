"""`ppsync serve` raises its open-file limit to the hard limit: each live stream is a socket."""

from __future__ import annotations

import resource

import pytest

from web.plumbing import limits


class Limits:
    def __init__(self, soft: int, hard: int, *, refuse: bool = False) -> None:
        self.now = (soft, hard)
        self.refuse = refuse

    def get(self, which: int) -> tuple[int, int]:
        assert which == resource.RLIMIT_NOFILE
        return self.now

    def set(self, which: int, value: tuple[int, int]) -> None:
        assert which == resource.RLIMIT_NOFILE
        if self.refuse:
            raise ValueError("not allowed")
        self.now = value


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Limits:
    fake = Limits(1024, 20000)
    monkeypatch.setattr(resource, "getrlimit", fake.get)
    monkeypatch.setattr(resource, "setrlimit", fake.set)
    return fake


def test_the_soft_limit_is_raised_to_the_hard_one(fake: Limits) -> None:
    assert limits.raise_open_files_limit() == (20000, 20000)
    assert fake.now == (20000, 20000)


def test_an_unlimited_hard_limit_leaves_the_soft_one(fake: Limits) -> None:
    fake.now = (1024, resource.RLIM_INFINITY)
    assert limits.raise_open_files_limit() == (1024, resource.RLIM_INFINITY)
    assert limits.describe(resource.RLIM_INFINITY) == "unlimited"


def test_a_refusal_leaves_the_limit_as_it_was(fake: Limits) -> None:
    fake.refuse = True
    assert limits.raise_open_files_limit() == (1024, 20000)
    assert limits.describe(1024) == "1,024"
