"""`ppsync media sweep`, `media copy`, `check` and `purge`: the picture files in the store, and
the kept versions they belong to."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

from web.cli import shared
from web.cli.shared import AddParser
from web.services.pictures.periods import SWEEP_GRACE_SECONDS
from web.settings import Settings, parse_bucket_url

if TYPE_CHECKING:
    from web.services.pictures import transfer


def add_media(command: AddParser) -> None:
    media = command("media", help="picture files").add_subparsers(required=True)
    sweep = media.add_parser("sweep", help="remove files that no kept version refers to")
    sweep.add_argument(
        "--grace",
        type=shared.at_least(0, "seconds"),
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
    previews = media.add_parser(
        "previews", help="give versions from before migration 0008 a blurred preview"
    )
    previews.set_defaults(run=_media_previews)


def add_check(command: AddParser) -> None:
    check = command(
        "check", help="every kept version has all its files and each decodes; exit 1 if not"
    )
    check.add_argument(
        "--repair", action="store_true", help="re-derive missing variants from the kept master"
    )
    check.set_defaults(run=_check)


def add_purge(command: AddParser) -> None:
    purge = command("purge", help="purge versions deleted past the retention window")
    purge.set_defaults(run=_purge)


def _bucket_url(raw: str) -> str:
    try:
        parse_bucket_url(raw)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return raw


def _media_sweep(settings: Settings, args: argparse.Namespace) -> int:
    from web.services.pictures import retention
    from web.services.pictures.stores import media_store

    with shared.session(settings) as session:
        removed = retention.sweep(session, media_store(settings), grace_seconds=args.grace)
    for key in removed:
        print(f"removed {key}")
    print(f"{len(removed)} orphan files removed")
    return 0


def _media_previews(settings: Settings, _args: argparse.Namespace) -> int:
    from web.services.pictures import previews
    from web.services.pictures.stores import media_store

    with shared.session(settings) as session:
        done = previews.refresh(session, media_store(settings))
    for key in done.missing:
        print(f"{key}: missing (the version keeps its colour; `ppsync check --repair` remakes it)")
    print(f"{done.made} previews made, {len(done.missing)} versions without their 48 px file")
    return 0


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

    with shared.session(settings) as session:
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


def _purge(settings: Settings, _args: argparse.Namespace) -> int:
    from web.services.pictures import retention
    from web.services.pictures.stores import media_store

    with shared.session(settings) as session:
        count = retention.purge(session, media_store(settings))
    print(f"{count} deleted versions purged")
    return 0
