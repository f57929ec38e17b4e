"""`ppsync`: the operators' command line."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from web.plumbing.limits import connection_cap, describe, raise_open_files_limit
from web.services.pictures.periods import SWEEP_GRACE_SECONDS
from web.settings import Settings, SettingsError, parse_bucket_url

# Each command imports what it needs when it runs: `--help` and `user add` must not wait for
# the web app, the image pipeline or Redis (issue 22 measured seconds of imports).
if TYPE_CHECKING:
    from sqlmodel import Session

    from web.live.channel import Doorbell
    from web.services import audit
    from web.services.pictures import imports, transfer
    from web.services.sync import Change

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
        default=SWEEP_GRACE_SECONDS,
        metavar="SECONDS",
        help="leave files younger than this (default %(default)s: an upload may be committing);"
        " 0 right after a crash, with no server running",
    )
    sweep.set_defaults(run=_media_sweep)
    copy = media.add_parser(
        "copy", help="copy the disk store (MEDIA_ROOT) into a bucket; again copies what is missing"
    )
    copy.add_argument("--to", required=True, metavar="s3://BUCKET/PREFIX", type=_bucket_url)
    copy.set_defaults(run=_media_copy)

    check = commands.add_parser(
        "check", help="every kept version has all its files and each decodes; exit 1 if not"
    )
    check.add_argument(
        "--repair", action="store_true", help="re-derive missing variants from the kept master"
    )
    check.set_defaults(run=_check)

    imp = commands.add_parser(
        "import",
        help="import every <handle>.<ext> file in DIR as a new picture of that member; "
        "exit 1 unless every file was imported",
    )
    imp.add_argument("directory", metavar="DIR", type=Path)
    imp.add_argument("--dry-run", action="store_true", help="check every file; write nothing")
    imp.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="worker threads (default: one per core)",
    )
    imp.set_defaults(run=_import)

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
    from sqlmodel import Session

    from db.engine import make_engine

    return Session(make_engine(settings.database_url), expire_on_commit=False)


def _choose_hasher(settings: Settings) -> None:
    """Hash new members' passwords as the settings say (the server's create_app does the same)."""
    from web.services.accounts import passwords

    passwords.use(settings.password_hasher)


def _actor() -> audit.Actor:
    """Who the audit log names for the operator's changes: no member, no address."""
    from web.services import audit

    return audit.Actor(user_id=None, ip=None)


def _db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    from db import migrate

    migrate.upgrade(settings.database_url)
    return 0


def _user_add(settings: Settings, args: argparse.Namespace) -> int:
    from web.services.accounts import members

    _choose_hasher(settings)
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
    from web.services.accounts import tokens

    with _session(settings) as session:
        user_id = _member_id(session, args.handle)
        try:
            token = tokens.issue_token(session, actor=_actor(), user_id=user_id, name=args.name)
        except tokens.TooManyTokens as error:
            raise CliError(error.message) from None
    print(token)
    return 0


def _picture_restore(settings: Settings, args: argparse.Namespace) -> int:
    from web.live.channel import Doorbell
    from web.services.pictures import changes

    doorbell = Doorbell(settings)  # the commit rings the servers
    with doorbell.attach(_session(settings)) as session:
        user_id = _member_id(session, args.handle)
        change = _picture_change(
            lambda: changes.restore(session, actor=_actor(), user_id=user_id, version=args.version)
        )
    if change is None:
        print(f"Version {args.version} is the picture already.")
        return 0
    return _announce(doorbell, change, f"Version {args.version} restored")


def _picture_delete(settings: Settings, args: argparse.Namespace) -> int:
    from web.live.channel import Doorbell
    from web.services.pictures import changes

    doorbell = Doorbell(settings)  # the commit rings the servers
    with doorbell.attach(_session(settings)) as session:
        user_id = _member_id(session, args.handle)
        deleted = _picture_change(
            lambda: changes.delete(session, actor=_actor(), user_id=user_id, version=args.version)
        )
    return _announce(doorbell, deleted.change, f"Version {deleted.version} deleted")


def _picture_change(action: Callable[[], T]) -> T:
    from web.services.pictures.access import PictureError

    try:
        return action()
    except PictureError as error:
        raise CliError(error.message) from None


def _announce(doorbell: Doorbell, change: Change, done: str) -> int:
    """Say whether the change's commit told the running servers' open tabs (through Redis).
    Without Redis, or with Redis down, the servers find it in the database on their next
    catch-up."""
    from web.live.feed import CATCH_UP_SECONDS

    told = change.event_id in doorbell.told
    within = f"get it within {CATCH_UP_SECONDS:.0f} s (the servers read the database)"
    print(f"{done}; open tabs {'were told' if told else within}.")
    return 0


def _member_id(session: Session, handle: str) -> int:
    from sqlmodel import select

    from db.models import User

    user_id = session.scalar(select(User.id).where(User.handle == handle.lower()))
    if user_id is None:
        raise CliError(f"no member has the handle '{handle}'")
    return user_id


def _media_sweep(settings: Settings, args: argparse.Namespace) -> int:
    from web.services.pictures import retention
    from web.services.pictures.stores import media_store

    with _session(settings) as session:
        removed = retention.sweep(session, media_store(settings), grace_seconds=args.grace)
    for key in removed:
        print(f"removed {key}")
    print(f"{len(removed)} orphan files removed")
    return 0


def _bucket_url(raw: str) -> str:
    try:
        parse_bucket_url(raw)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return raw


def _media_copy(settings: Settings, args: argparse.Namespace) -> int:
    from web.services.pictures import transfer
    from web.services.pictures.stores import media_store

    source = media_store(replace(settings, media_store=None))
    target = media_store(replace(settings, media_store=args.to))
    every = 1 if sys.stderr.isatty() else 500

    def report(progress: transfer.Progress) -> None:
        if progress.done % every == 0 or progress.done == progress.total:
            end = "\r" if sys.stderr.isatty() and progress.done < progress.total else "\n"
            print(_progress_line(progress), end=end, file=sys.stderr, flush=True)

    done = transfer.copy_store(source, target, report=report)
    print(f"{_progress_line(done)} to {args.to}")
    return 0


def _progress_line(progress: transfer.Progress) -> str:
    return (
        f"{progress.done}/{progress.total} files: {progress.copied} copied, "
        f"{progress.skipped} already there"
    )


def _check(settings: Settings, args: argparse.Namespace) -> int:
    from web.services.pictures import media_check
    from web.services.pictures.stores import media_store

    with _session(settings) as session:
        report = media_check.check(session, media_store(settings), repair=args.repair)
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


def _import(settings: Settings, args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from db.engine import make_engine
    from web.live.channel import Doorbell
    from web.services.pictures import imports, uploads
    from web.services.pictures.stores import media_store

    if not args.directory.is_dir():
        raise CliError(f"not a directory: {args.directory}")
    engine = make_engine(settings.database_url)
    total = len(imports.candidates(args.directory))
    progress = _Progress(total)

    doorbell = Doorbell(settings)  # each import's commit tells the open tabs, as an upload's

    def seen(outcome: imports.Outcome) -> None:
        progress.step()

    report = imports.run(
        lambda: doorbell.attach(Session(engine, expire_on_commit=False)),
        media_store(settings),
        args.directory,
        actor=_actor(),
        limits=settings.image_limits(),
        scan=uploads.scanner(settings.clamd_socket),
        workers=args.workers,
        dry_run=args.dry_run,
        on_outcome=seen,
    )
    progress.done()
    for outcome in report.outcomes:
        if outcome.status == imports.REFUSED:
            print(f"{outcome.path.name}: refused: {outcome.reason}")
        elif outcome.status == imports.UNKNOWN:
            print(f"{outcome.path.name}: unknown handle '{outcome.handle}'")
    first = imports.WOULD_IMPORT if args.dry_run else imports.IMPORTED
    statuses = (first, imports.UNCHANGED, imports.REFUSED, imports.UNKNOWN)
    counts = ", ".join(f"{report.count(status)} {status}" for status in statuses)
    print(
        f"{len(report.outcomes)} files: {counts}; {report.seconds:.1f} s, "
        f"{report.per_second:.1f} files/s with {args.workers} workers"
        + (" (dry run: nothing written)" if args.dry_run else "")
    )
    return 0 if report.ok else 1


class _Progress:
    """`[done/total]` on stderr: rewritten in place on a terminal, every tenth otherwise."""

    def __init__(self, total: int) -> None:
        self.total, self.count = total, 0
        self.tty = sys.stderr.isatty()

    def step(self) -> None:
        self.count += 1
        tenth = max(1, self.total // 10)
        if self.tty:
            print(f"\rimporting [{self.count}/{self.total}]", end="", file=sys.stderr, flush=True)
        elif self.count % tenth == 0 or self.count == self.total:
            print(f"importing [{self.count}/{self.total}]", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.tty and self.total:
            print(file=sys.stderr)


def _seconds(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise argparse.ArgumentTypeError(f"a number of seconds, 0 or more: {raw}")
    return value


def _purge(settings: Settings, _args: argparse.Namespace) -> int:
    from web.services.pictures import retention
    from web.services.pictures.stores import media_store

    with _session(settings) as session:
        count = retention.purge(session, media_store(settings))
    print(f"{count} deleted versions purged")
    return 0


def _seed_demo(settings: Settings, _args: argparse.Namespace) -> int:
    from web.services.accounts import members

    _choose_hasher(settings)
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
    from web.overrides.server_limits import protocol_class

    soft, hard = raise_open_files_limit()
    connections = settings.max_connections or connection_cap(soft)
    print(
        f"Open files: up to {describe(soft)} (hard limit {describe(hard)}): each live stream "
        f"holds one; connections beyond {connections:,} are answered 503.",
        file=sys.stderr,
    )
    app = create_app(settings)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        http=protocol_class(
            settings.header_timeout,
            max_header_bytes=settings.max_header_bytes,
            max_connections=connections,
        ),
        ws="none",  # no WebSocket routes: an Upgrade request is a plain request
        proxy_headers=False,
        access_log=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
