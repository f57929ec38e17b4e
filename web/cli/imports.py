"""`ppsync import DIR`: every `<handle>.<ext>` file in a folder as a new picture of that member,
over worker threads, with progress on stderr and a line for each file not imported."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from web.cli import shared
from web.cli.shared import AddParser
from web.settings import Settings

if TYPE_CHECKING:
    from web.services.pictures import imports


def add_import(command: AddParser) -> None:
    imp = command(
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


def _import(settings: Settings, args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from db.engine import make_engine
    from web.live.channel import Doorbell
    from web.services.pictures import imports, uploads
    from web.services.pictures.stores import media_store

    if not args.directory.is_dir():
        raise shared.CliError(f"not a directory: {args.directory}")
    engine = make_engine(settings.database_url)
    total = len(imports.candidates(args.directory))
    progress = _Progress(total)
    doorbell = Doorbell(settings)  # each import's commit tells the open tabs, as an upload's

    def seen(_outcome: imports.Outcome) -> None:
        progress.step()

    report = imports.run(
        lambda: doorbell.attach(Session(engine, expire_on_commit=False)),
        media_store(settings),
        args.directory,
        actor=shared.actor(),
        limits=settings.image_limits(),
        scan=uploads.scanner(settings.clamd_socket),
        workers=args.workers,
        dry_run=args.dry_run,
        on_outcome=seen,
    )
    progress.done()
    _print_report(report, args)
    return 0 if report.ok else 1


def _print_report(report: imports.Report, args: argparse.Namespace) -> None:
    """A line for each file refused or of an unknown member, then the counts and the speed."""
    from web.services.pictures import imports

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
