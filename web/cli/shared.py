"""What several `ppsync` commands share: the error they report, how a command group is added to
the parser, a number argument's check, a database session, the password hasher, the operator as
the audit log's actor and a member found by handle. Imports stay light: each helper imports
what it needs when called."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from web.settings import Settings

if TYPE_CHECKING:
    from sqlmodel import Session

    from web.services import audit


class CliError(Exception):
    """Reported on stderr with exit status 1."""


def at_least(minimum: int, unit: str) -> Callable[[str], int]:
    """An argparse `type` for a whole number of `unit` no smaller than `minimum`."""

    def parse(raw: str) -> int:
        value = int(raw)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"a number of {unit}, {minimum} or more: {raw}")
        return value

    return parse


class AddParser(Protocol):
    """`add_parser` of the parser's COMMAND subparsers: each command group adds its own."""

    def __call__(self, name: str, *, help: str) -> argparse.ArgumentParser: ...


def session(settings: Settings) -> Session:
    from sqlmodel import Session

    from db.engine import make_engine

    return Session(make_engine(settings.database_url), expire_on_commit=False)


def choose_hasher(settings: Settings) -> None:
    """Hash new members' passwords as the settings say (the server's create_app does the same)."""
    from web.services.accounts import passwords

    passwords.use(settings.password_hasher)


def actor() -> audit.Actor:
    """Who the audit log names for the operator's changes: no member, no address."""
    from web.services import audit

    return audit.Actor(user_id=None, ip=None)


def member_id(session: Session, handle: str) -> int:
    from sqlmodel import select

    from db.models import User

    user_id = session.scalar(select(User.id).where(User.handle == handle.lower()))
    if user_id is None:
        raise CliError(f"no member has the handle '{handle}'")
    return user_id
