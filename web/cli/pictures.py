"""`ppsync picture use`, `restore`, `remove` and `delete`: a member's picture changed as the
profile forms change it (the same names, the same meanings), and the running servers' open tabs
told."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from web.cli import shared
from web.cli.shared import AddParser
from web.settings import Settings

if TYPE_CHECKING:
    from sqlmodel import Session

    from web.live.channel import Doorbell
    from web.services.commits import Change

T = TypeVar("T")


def add_picture(command: AddParser) -> None:
    picture = command("picture", help="a member's picture").add_subparsers(required=True)
    use = picture.add_parser("use", help="make a version the picture (a deleted one comes back)")
    restore = picture.add_parser(
        "restore", help="put a deleted version back into the history (the picture stays)"
    )
    for parser, run in ((use, _picture_use), (restore, _picture_restore)):
        parser.add_argument("handle")
        parser.add_argument("version", type=int)
        parser.set_defaults(run=run)
    remove = picture.add_parser("remove", help="no picture: the member's initials show again")
    remove.add_argument("handle")
    remove.set_defaults(run=_picture_remove)
    delete = picture.add_parser("delete", help="soft-delete a version (the current one by default)")
    delete.add_argument("handle")
    delete.add_argument("--version", type=int)
    delete.set_defaults(run=_picture_delete)


Outcome = tuple["Change | None", str]  # the change (None: nothing to do) and what to say


def _picture_use(settings: Settings, args: argparse.Namespace) -> int:
    from web.services.pictures import changes

    def use(session: Session, user_id: int) -> Outcome:
        change = changes.use(session, actor=shared.actor(), user_id=user_id, version=args.version)
        return change, f"Version {args.version} is the picture" + ("" if change else " already.")

    return _run(settings, args.handle, use)


def _picture_restore(settings: Settings, args: argparse.Namespace) -> int:
    from web.services.pictures import changes

    def restore(session: Session, user_id: int) -> Outcome:
        change = changes.restore(
            session, actor=shared.actor(), user_id=user_id, version=args.version
        )
        said = "restored" if change else "is not deleted."
        return change, f"Version {args.version} {said}"

    return _run(settings, args.handle, restore)


def _picture_remove(settings: Settings, args: argparse.Namespace) -> int:
    from web.services.pictures import changes

    def remove(session: Session, user_id: int) -> Outcome:
        change = changes.remove(session, actor=shared.actor(), user_id=user_id).change
        return change, "Picture removed" if change else "There is no picture to remove."

    return _run(settings, args.handle, remove)


def _picture_delete(settings: Settings, args: argparse.Namespace) -> int:
    from web.services.pictures import changes

    def delete(session: Session, user_id: int) -> Outcome:
        done = changes.delete(session, actor=shared.actor(), user_id=user_id, version=args.version)
        return done.change, f"Version {done.version} deleted"

    return _run(settings, args.handle, delete)


def _run(settings: Settings, handle: str, action: Callable[[Session, int], Outcome]) -> int:
    """One change to the member's picture, its commit ringing the servers."""
    from web.live.channel import Doorbell

    doorbell = Doorbell(settings)
    with doorbell.attach(shared.session(settings)) as session:
        user_id = shared.member_id(session, handle)
        change, said = _picture_change(lambda: action(session, user_id))
    if change is None:
        print(said)
        return 0
    return _announce(doorbell, change, said)


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
