"""`ppsync`: the operators' command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from web.cli import avif, db, imports, media, pictures, serve, users
from web.cli.shared import CliError
from web.settings import Settings, SettingsError

# Each command imports what it needs when it runs: `--help` and `user add` must not wait for
# the web app, the image pipeline or Redis (issue 22 measured seconds of imports). So the
# modules below import only argparse, the settings and their own small constants at the top.
# In the order `--help` lists them.
_COMMAND_GROUPS = (
    db.add_db,
    users.add_user,
    users.add_token,
    pictures.add_picture,
    media.add_media,
    media.add_check,
    avif.add_avif,
    imports.add_import,
    media.add_purge,
    users.add_seed_demo,
    serve.add_serve,
)


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
    for add_group in _COMMAND_GROUPS:
        add_group(commands.add_parser)
    return parser
