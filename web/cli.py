"""`ppsync`: the operators' command line."""

from __future__ import annotations

import argparse
import secrets
import sys
from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlmodel import Session, select

from db import migrate
from db.engine import make_engine
from db.models import User
from web.live.channel import publish_outside_app
from web.live.feed import CATCH_UP_SECONDS
from web.services import audit
from web.services.accounts import members, tokens
from web.services.pictures import changes, media_check, retention
from web.services.pictures.access import PictureError
from web.services.pictures.storage import MediaStore
from web.services.sync import Change
from web.settings import Settings, SettingsError

CLI_ACTOR = audit.Actor(user_id=None, ip=None)
T = TypeVar("T")
DEMO_MEMBERS = (("alice", "Alice Liddell"), ("bob", "Bob Marley"), ("carol", "Carol Danvers"))


class CliError(Exception):
    """Reported on stderr with exit status 1."""


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        result: int = args.run(settings, args)
        return result
    except (CliError, SettingsError) as error:
        print(f"ppsync: error: {error}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ppsync", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    db = commands.add_parser("db", help="database schema").add_subparsers(required=True)
    db.add_parser("upgrade", help="apply every migration").set_defaults(run=_db_upgrade)

    user = commands.add_parser("user", help="members").add_subparsers(required=True)
    add_user = user.add_parser("add", help="add a member; the password is read from stdin")
    add_user.add_argument("handle")
    add_user.add_argument("--display-name", default="")
    add_user.add_argument("--admin", action="store_true", help="may act on any member")
    add_user.set_defaults(run=_user_add)

    token = commands.add_parser("token", help="API tokens").add_subparsers(required=True)
    add_token = token.add_parser("add", help="create an API token; printed once")
    add_token.add_argument("handle")
    add_token.add_argument("--name", default="CLI token")
    add_token.set_defaults(run=_token_add)

    picture = commands.add_parser("picture", help="a member's picture").add_subparsers(
        required=True
    )
    restore = picture.add_parser("restore", help="make a kept version the picture again")
    restore.add_argument("handle")
    restore.add_argument("version", type=int)
    restore.set_defaults(run=_picture_restore)
    delete = picture.add_parser("delete", help="soft-delete a version (the current one by default)")
    delete.add_argument("handle")
    delete.add_argument("--version", type=int)
    delete.set_defaults(run=_picture_delete)

    media = commands.add_parser("media", help="picture files").add_subparsers(required=True)
    sweep = media.add_parser("sweep", help="remove files that no kept version refers to")
    sweep.add_argument(
        "--grace",
        type=_seconds,
        default=retention.SWEEP_GRACE_SECONDS,
        metavar="SECONDS",
        help="leave files younger than this (default %(default)s: an upload may be committing);"
        " 0 right after a crash, with no server running",
    )
    sweep.set_defaults(run=_media_sweep)

    check = commands.add_parser(
        "check", help="every kept version has all its files and each decodes; exit 1 if not"
    )
    check.add_argument(
        "--repair", action="store_true", help="re-derive missing variants from the kept master"
    )
    check.set_defaults(run=_check)

    purge = commands.add_parser("purge", help="purge versions deleted past the retention window")
    purge.set_defaults(run=_purge)

    seed = commands.add_parser("seed-demo", help="add alice, bob and carol to an empty database")
    seed.set_defaults(run=_seed_demo)

    serve = commands.add_parser("serve", help="run the web server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(run=_serve)
    return parser


def _session(settings: Settings) -> Session:
    return Session(make_engine(settings.database_url), expire_on_commit=False)


def _db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    migrate.upgrade(settings.database_url)
    return 0


def _user_add(settings: Settings, args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\r\n")
    with _session(settings) as session:
        try:
            user = members.create_member(
                session,
                handle=args.handle,
                display_name=args.display_name,
                password=password,
                is_admin=args.admin,
            )
        except members.MemberError as error:
            raise CliError(str(error)) from None
    print(user.id)
    return 0


def _token_add(settings: Settings, args: argparse.Namespace) -> int:
    with _session(settings) as session:
        user_id = _member_id(session, args.handle)
        try:
            token = tokens.issue_token(session, actor=CLI_ACTOR, user_id=user_id, name=args.name)
        except tokens.TooManyTokens as error:
            raise CliError(error.message) from None
    print(token)
    return 0


def _picture_restore(settings: Settings, args: argparse.Namespace) -> int:
    with _session(settings) as session:
        user_id = _member_id(session, args.handle)
        change = _picture_change(
            lambda: changes.restore(session, actor=CLI_ACTOR, user_id=user_id, version=args.version)
        )
    if change is None:
        print(f"Version {args.version} is the picture already.")
        return 0
    return _announce(settings, change, f"Version {args.version} restored")


def _picture_delete(settings: Settings, args: argparse.Namespace) -> int:
    with _session(settings) as session:
        user_id = _member_id(session, args.handle)
        deleted = _picture_change(
            lambda: changes.delete(session, actor=CLI_ACTOR, user_id=user_id, version=args.version)
        )
    return _announce(settings, deleted.change, f"Version {deleted.version} deleted")


def _picture_change(action: Callable[[], T]) -> T:
    try:
        return action()
    except PictureError as error:
        raise CliError(error.message) from None


def _announce(settings: Settings, change: Change, done: str) -> int:
    """Tell the running servers' open tabs (through Redis) about a committed change. Without
    Redis, or with Redis down, the servers find it in the database on their next catch-up."""
    told = publish_outside_app(settings, change)
    within = f"get it within {CATCH_UP_SECONDS:.0f} s (the servers read the database)"
    print(f"{done}; open tabs {'were told' if told else within}.")
    return 0


def _member_id(session: Session, handle: str) -> int:
    user_id = session.scalar(select(User.id).where(User.handle == handle.lower()))
    if user_id is None:
        raise CliError(f"no member has the handle '{handle}'")
    return user_id


def _media_sweep(settings: Settings, args: argparse.Namespace) -> int:
    with _session(settings) as session:
        removed = retention.sweep(
            session, MediaStore(settings.media_root), grace_seconds=args.grace
        )
    for key in removed:
        print(f"removed {key}")
    print(f"{len(removed)} orphan files removed")
    return 0


def _check(settings: Settings, args: argparse.Namespace) -> int:
    with _session(settings) as session:
        report = media_check.check(session, MediaStore(settings.media_root), repair=args.repair)
    for problem in report.repaired:
        print(f"{problem.key}: repaired (it was {problem.reason})")
    for problem, why in report.unrepaired:
        print(f"{problem.key}: cannot repair: {why}")
    for problem in report.problems:
        owner = f"member {problem.user_id}, version {problem.version}"
        print(f"{problem.key}: {problem.reason} ({owner})")
    for key in report.orphans:
        print(f"{key}: orphan (no kept version refers to it)")
    print(
        f"{report.versions} kept versions, {report.files} files: "
        f"{report.count(missing=True)} missing, {report.count(missing=False)} undecodable, "
        f"{len(report.orphans)} orphans, {len(report.repaired)} repaired"
    )
    return 0 if report.ok else 1


def _seconds(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise argparse.ArgumentTypeError(f"a number of seconds, 0 or more: {raw}")
    return value


def _purge(settings: Settings, _args: argparse.Namespace) -> int:
    with _session(settings) as session:
        count = retention.purge(session, MediaStore(settings.media_root))
    print(f"{count} deleted versions purged")
    return 0


def _seed_demo(settings: Settings, _args: argparse.Namespace) -> int:
    with _session(settings) as session:
        if members.count_members(session):
            print("Members exist already; nothing seeded.")
            return 0
        password = secrets.token_urlsafe(12)
        for handle, name in DEMO_MEMBERS:
            members.create_member(session, handle=handle, display_name=name, password=password)
    handles = ", ".join(handle for handle, _ in DEMO_MEMBERS)
    print(f"Seeded demo members {handles}; their development password (shown once): {password}")
    return 0


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn  # only the server needs it

    from web.app import create_app

    app = create_app(settings)
    uvicorn.run(app, host=args.host, port=args.port, proxy_headers=False, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
