"""`ppsync avif backfill`: AVIF copies for the still versions that have none (made while
AVIF_COPIES was off, or whose job was lost when a process stopped), one version at a time."""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from typing import TYPE_CHECKING

from web.cli import shared
from web.cli.shared import AddParser
from web.settings import Settings

if TYPE_CHECKING:
    from sqlmodel import Session

    from web.services.pictures.avif_backfill import Lacking
    from web.services.pictures.storage import MediaStore

log = logging.getLogger("ppsync.avif")
REFUSED = 2  # AVIF_COPIES=off: the exit status says it apart from a version that failed


def add_avif(command: AddParser) -> None:
    avif = command("avif", help="AVIF copies of still versions").add_subparsers(required=True)
    backfill = avif.add_parser(
        "backfill", help="make AVIF copies for the versions that have none, oldest first"
    )
    backfill.add_argument(
        "--limit", type=shared.at_least(1, "versions"), metavar="N", help="at most N versions"
    )
    backfill.add_argument("--dry-run", action="store_true", help="only list the versions")
    backfill.set_defaults(run=_backfill)


def _backfill(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.avif_copies:
        print("ppsync: error: AVIF_COPIES is off: no AVIF copies are made", file=sys.stderr)
        return REFUSED
    from web.services.pictures import avif_backfill
    from web.services.pictures.stores import media_store

    with shared.session(settings) as session:
        rows = avif_backfill.lacking(session, limit=args.limit)
        if args.dry_run:
            for row in rows:
                print(f"member {row.user_id}, version {row.version}: no AVIF copies")
            print(f"{len(rows)} versions without AVIF copies")
            return 0
        store = media_store(settings)
        outcomes = Counter(_one(settings, session, store, row) for row in rows)
    print(
        f"{len(rows)} versions: {outcomes['made']} given AVIF copies, "
        f"{outcomes['none smaller']} none smaller, {outcomes['skipped']} skipped, "
        f"{outcomes['failed']} failed"
    )
    return 1 if outcomes["failed"] else 0


def _one(settings: Settings, session: Session, store: MediaStore, row: Lacking) -> str:
    """One version's AVIF copies, said in one line; its outcome for the summary."""
    from web.services import imaging
    from web.services.pictures import avif, avif_backfill
    from web.services.pictures.access import PictureError

    limits = settings.image_limits()
    said = f"member {row.user_id}, version {row.version}"
    try:
        wanted = avif_backfill.wanted(session, store, row, limits)
        made = None if wanted is None else avif.add(session, store, wanted, limits.ceilings)
    except (PictureError, imaging.ImageRejected, FileNotFoundError) as error:
        session.rollback()
        print(f"{said}: failed: {getattr(error, 'message', error)}")
        return "failed"
    except Exception as error:  # a store or database fault, a malformed record: the next goes on
        session.rollback()
        print(f"{said}: failed: {type(error).__name__}: {error}")
        log.exception("ppsync avif backfill: %s", said)  # the traceback, on stderr
        return "failed"
    if made is None:
        print(f"{said}: skipped (deleted, purged or given its copies meanwhile)")
        return "skipped"
    print(f"{said}: {_sizes(made) if made else 'none smaller'}")
    return "made" if made else "none smaller"


def _sizes(made: tuple[int, ...]) -> str:
    return "AVIF at " + ", ".join(str(px) for px in made) + " px"
