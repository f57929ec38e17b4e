"""`ppsync serve`: the web server, its open-file limit raised and its connections capped."""

from __future__ import annotations

import argparse
import sys

from web.cli.shared import AddParser
from web.plumbing.limits import connection_cap, describe, raise_open_files_limit
from web.settings import Settings


def add_serve(command: AddParser) -> None:
    serve = command("serve", help="run the web server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(run=_serve)


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
