"""`ppsync db upgrade`: the database schema brought to the latest migration."""

from __future__ import annotations

import argparse

from web.cli.shared import AddParser
from web.settings import Settings


def add_db(command: AddParser) -> None:
    db = command("db", help="database schema").add_subparsers(required=True)
    db.add_parser("upgrade", help="apply every migration").set_defaults(run=_db_upgrade)


def _db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    from db import migrate

    migrate.upgrade(settings.database_url)
    return 0
