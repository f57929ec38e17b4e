"""`ppsync user add`, `token add` and `seed-demo`: members and their API tokens."""

from __future__ import annotations

import argparse
import secrets
import sys
import time

from web.cli import shared
from web.cli.shared import AddParser
from web.settings import Settings

DEMO_MEMBERS = (("alice", "Alice Liddell"), ("bob", "Bob Marley"), ("carol", "Carol Danvers"))


def add_user(command: AddParser) -> None:
    user = command("user", help="members").add_subparsers(required=True)
    add_user = user.add_parser("add", help="add a member; the password is read from stdin")
    add_user.add_argument("handle")
    add_user.add_argument("--display-name", default="")
    add_user.add_argument("--admin", action="store_true", help="may act on any member")
    add_user.set_defaults(run=_user_add)


def add_token(command: AddParser) -> None:
    token = command("token", help="API tokens").add_subparsers(required=True)
    add_token = token.add_parser("add", help="create an API token; printed once")
    add_token.add_argument("handle")
    add_token.add_argument("--name", default="CLI token")
    add_token.set_defaults(run=_token_add)


def add_seed_demo(command: AddParser) -> None:
    seed = command("seed-demo", help="add alice, bob and carol to an empty database")
    seed.add_argument(
        "--members",
        type=_member_count,
        metavar="N",
        help="instead, add N generated members (bulk inserts: 100000 take seconds), "
        "whatever the database holds",
    )
    seed.set_defaults(run=_seed_demo)


def _member_count(text: str) -> int:
    from db.models import MAX_ID

    if not text.isdecimal() or not 1 <= int(text) <= MAX_ID:
        raise argparse.ArgumentTypeError(f"a number of members from 1 to {MAX_ID}: {text!r}")
    return int(text)


def _user_add(settings: Settings, args: argparse.Namespace) -> int:
    from web.services.accounts import members

    shared.choose_hasher(settings)
    password = sys.stdin.readline().rstrip("\r\n")
    with shared.session(settings) as session:
        try:
            user = members.create_member(
                session,
                handle=args.handle,
                display_name=args.display_name,
                password=password,
                is_admin=args.admin,
            )
        except members.MemberError as error:
            raise shared.CliError(str(error)) from None
    print(user.id)
    return 0


def _token_add(settings: Settings, args: argparse.Namespace) -> int:
    from web.services.accounts import tokens

    with shared.session(settings) as session:
        user_id = shared.member_id(session, args.handle)
        try:
            token = tokens.issue_token(
                session, actor=shared.actor(), user_id=user_id, name=args.name
            )
        except tokens.TooManyTokens as error:
            raise shared.CliError(error.message) from None
    print(token)
    return 0


def _seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    from web.services.accounts import members

    shared.choose_hasher(settings)
    if args.members:
        return _seed_generated(settings, args.members)
    with shared.session(settings) as session:
        if members.count_members(session):
            print("Members exist already; nothing seeded.")
            return 0
        password = secrets.token_urlsafe(12)
        for handle, name in DEMO_MEMBERS:
            members.create_member(session, handle=handle, display_name=name, password=password)
    handles = ", ".join(handle for handle, _ in DEMO_MEMBERS)
    print(f"Seeded demo members {handles}; their development password (shown once): {password}")
    return 0


def _seed_generated(settings: Settings, count: int) -> int:
    from db.engine import refresh_statistics
    from web.services.accounts import demo, passwords

    password = secrets.token_urlsafe(12)
    started = time.monotonic()
    with shared.session(settings) as session:
        first = demo.add_members(session, count, passwords.hash_password(password))
        engine = session.get_bind()
    refresh_statistics(engine)
    took = time.monotonic() - started
    last = first + count - 1
    handles = f"handles first-last-N, N from {first} to {last}"
    print(f"Their development password (shown once): {password}")
    print(f"Seeded {count} generated members in {took:.1f} s ({handles}).")
    return 0
