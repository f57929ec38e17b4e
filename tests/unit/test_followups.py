"""The work commits hand on after the answer (web/followups.py): run in turn on one thread,
at most PENDING waiting (past that a version goes without its AVIF, said in the log), and only
for what a transaction committed."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from litestar import Litestar
from sqlmodel import Session

from web import followups
from web.followups import PENDING, Followups
from web.services.commits import Commits, note_followup
from web.services.imaging.types import Square
from web.services.pictures import avif
from web.services.pictures.avif import Wanted

SQUARE = Square("RGB", 1, b"\0\0\0")


def wanted(n: int) -> Wanted:
    return Wanted(n, f"{n:032x}", SQUARE, {})


@pytest.fixture
def blocked(
    app: Litestar, monkeypatch: pytest.MonkeyPatch
) -> tuple[Followups, threading.Event, list[int]]:
    """The app's followups, each held until the event is set; the members whose ran."""
    release, ran = threading.Event(), []

    def add(session: Session, store: Any, work: Wanted, ceilings: Any) -> tuple[int, ...]:
        release.wait(timeout=30)
        ran.append(work.user_id)
        return ()

    monkeypatch.setattr(avif, "add", add)
    return app.state["followups"], release, ran


def test_followups_past_the_bound_are_dropped_and_said(
    blocked: tuple[Followups, threading.Event, list[int]], caplog: pytest.LogCaptureFixture
) -> None:
    work, release, ran = blocked
    with caplog.at_level(logging.WARNING, logger=followups.log.name):
        for n in range(PENDING + 2):
            work.submit(wanted(n))
    release.set()
    work.settle()
    assert ran == list(range(PENDING))  # in turn, the first PENDING
    assert sum("gets no AVIF" in r.message for r in caplog.records) == 2


def test_only_a_committed_transaction_hands_its_followup_on(app: Litestar) -> None:
    commits, heard = Commits(), []
    commits.on_followup(heard.append)
    with commits.attach(Session(app.state["engine"])) as session:
        session.begin()
        note_followup(session, wanted(1))
        session.rollback()
        session.begin()
        note_followup(session, wanted(2))
        session.commit()
    assert [work.user_id for work in heard] == [2]
