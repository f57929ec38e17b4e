"""`ppsync serve`: the web server, its open-file limit raised and its connections capped; with
`--workers N`, N processes on one port (web/cli/workers.py)."""

from __future__ import annotations

import argparse
import os
import sys
from functools import partial
from typing import Any

from web.cli import workers
from web.cli.shared import AddParser
from web.plumbing.limits import connection_cap, describe, raise_open_files_limit
from web.settings import Settings

# What every `ppsync serve` asks of uvicorn besides the app, the address and the protocol.
SERVER_OPTIONS: dict[str, Any] = {
    "ws": "none",  # no WebSocket routes: an Upgrade request is a plain request
    "proxy_headers": False,  # the app reads X-Forwarded-For itself (TRUSTED_PROXIES)
    "access_log": False,  # the app writes its own request log (web/plumbing/logs.py)
}


def add_serve(command: AddParser) -> None:
    serve = command("serve", help="run the web server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=workers.worker_count,
        default=1,
        metavar="N",
        help="server processes sharing the port (default 1; more than 1 needs REDIS_URL)",
    )
    serve.set_defaults(run=_serve)


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    if problem := workers.refusal(settings, args.workers):
        print(f"ppsync serve: error: {problem}", file=sys.stderr)
        return 2
    from web.overrides.server_limits import protocol_class  # only the server needs uvicorn

    soft, hard = raise_open_files_limit()  # before the workers start: they inherit it
    connections = settings.max_connections or connection_cap(soft)
    print(
        f"Open files: up to {describe(soft)} (hard limit {describe(hard)}): each live stream "
        f"holds one; connections beyond {connections:,} are answered 503.",
        file=sys.stderr,
    )
    make_protocol = partial(
        protocol_class,
        settings.header_timeout,
        max_header_bytes=settings.max_header_bytes,
        max_connections=connections,
    )
    address = {"host": args.host, "port": args.port}
    if args.workers == 1:
        _serve_one(settings, make_protocol(), address)
    else:
        settings = workers.per_worker(settings, args.workers, os.environ)
        print(
            f"{args.workers} workers, each with {settings.image_workers} decode processes "
            f"and up to {connections:,} connections.",
            file=sys.stderr,
        )
        workers.run(settings, make_protocol, args.workers, **address, **SERVER_OPTIONS)
    return 0


def _serve_one(settings: Settings, protocol: type[Any], address: dict[str, Any]) -> None:
    import uvicorn

    from web.app import create_app

    uvicorn.run(create_app(settings), http=protocol, **address, **SERVER_OPTIONS)
