"""`ppsync picture restore` and `picture delete`: a member's picture changed as the profile
forms change it, and the running servers' open tabs told."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from web.cli import shared
from web.cli.shared import AddParser
from web.settings import Settings

if TYPE_CHECKING:
    from web.live.channel import Doorbell
    from web.services.commits import Change

T = TypeVar("T")


def add_picture(command: AddParser) -> None:
    picture = command("picture", help="a member's picture").add_subparsers(required=True)
    restore = picture.add_parser("restore", help="make a kept version the picture again")
    restore.add_argument("handle")
    restore.add_argument("version", type=int)
    restore.set_defaults(run=_picture_restore)
    delete = picture.add_parser("delete", help="soft-delete a version (the current one by default)")
    delete.add_argument("handle")
    delete.add_argument("--version", type=int)
    delete.set_defaults(run=_picture_delete)


def _picture_restore(settings: Settings, args: argparse.Namespace) -> int:
    from web.live.channel import Doorbell
    from web.services.pictures import changes

    doorbell = Doorbell(settings)  # the commit rings the servers
    with doorbell.attach(shared.session(settings)) as session:
        user_id = shared.member_id(session, args.handle)
        change = _picture_change(
            lambda: changes.restore(
                session, actor=shared.actor(), user_id=user_id, version=args.version
            )
        )
    if change is None:
        print(f"Version {args.version} is the picture already.")
        return 0
    return _announce(doorbell, change, f"Version {args.version} restored")


def _picture_delete(settings: Settings, args: argparse.Namespace) -> int:
    from web.live.channel import Doorbell
    from web.services.pictures import changes

    doorbell = Doorbell(settings)  # the commit rings the servers
    with doorbell.attach(shared.session(settings)) as session:
        user_id = shared.member_id(session, args.handle)
        deleted = _picture_change(
            lambda: changes.delete(
                session, actor=shared.actor(), user_id=user_id, version=args.version
            )
        )
    return _announce(doorbell, deleted.change, f"Version {deleted.version} deleted")


def _picture_change(action: Callable[[], T]) -> T:
    from web.services.pictures.access import PictureError

    try:
        return action()
    except PictureError as error:
        raise shared.CliError(error.message) from None


def _announce(doorbell: Doorbell, change: Change, done: str) -> int:
    """Say whether the change's commit told the running servers' open tabs (through Redis).
    Without Redis, or with Redis down, the servers find it in the database on their next
    catch-up."""
    from web.live.feed import CATCH_UP_SECONDS

    told = change.event_id in doorbell.told
    within = f"get it within {CATCH_UP_SECONDS:.0f} s (the servers read the database)"
    print(f"{done}; open tabs {'were told' if told else within}.")
    return 0
