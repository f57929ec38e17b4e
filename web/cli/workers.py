"""`ppsync serve --workers N`: N server processes on one port, under uvicorn's own supervisor.

uvicorn's `Multiprocess` (what its `--workers` runs) binds the socket once and spawns N workers
that accept on it; every half second it checks each one and starts a new worker in place of one
that died, however it died (`kill -9` included), while the others go on serving. SIGTERM or
SIGINT stops them all, each finishing as a single server does (its streams drained).

The workers are separate processes, so they share what separate hosts share and nothing else:
- through Redis (REDIS_URL, required for N > 1): live events, and with them the read caches'
  drops (web/caches/reads.py hears another process's change from the hub), and the rate limits
  (uploads, suggestions, previews, logins, sign-ups, API calls). Without Redis each worker would
  count uploads on its own (N times the limit) and hear of another worker's change only on the
  feed's catch-up, seconds later: the command refuses instead.
- per worker, as per host: MAX_CONNECTIONS and EVENTS_PER_CLIENT, the database pool
  (db/engine.py POOL_CAPACITY connections each: PostgreSQL's `max_connections` must hold N
  times it, per host), the password-hashing threads (one a core each), one link fetch at a time
  per member.
- the decode workers (IMAGE_WORKERS, per app process): when it is unset each worker gets its
  share of the cores plus one. The kernel does not hand the workers new connections evenly (12
  uploads, 4 at a time, 2 workers: 7 to 9 went to one of them, bench/workers.py's server logs):
  with a bare share, the busier worker's uploads queue for its decode process while the other
  core idles; the one more lets the kernel share the cores out instead. The decode processes
  stay near the cores (at most cores + 2N - 1 in all), each ~47 MB when idle (PSS, measured
  after uploads), each under its own IMAGE_MEMORY_MB while it decodes.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

from web.settings import Settings

if TYPE_CHECKING:
    import asyncio

    from litestar import Litestar


def worker_count(raw: str) -> int:
    """`--workers`: a whole number, 1 or more."""
    try:
        count = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {raw!r}") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"at least 1, got {count}")
    return count


def refusal(settings: Settings, workers: int) -> str | None:
    """Why these settings cannot run `workers` processes, or None."""
    if workers == 1 or settings.redis_url:
        return None
    return (
        f"--workers {workers} needs REDIS_URL (e.g. redis://127.0.0.1:6379/0): the workers "
        "share live events, cache updates and rate limits through Redis, as separate hosts do. "
        "Set REDIS_URL, or serve with --workers 1."
    )


def per_worker(settings: Settings, workers: int, env: Mapping[str, str]) -> Settings:
    """The settings each worker runs with: IMAGE_WORKERS as set, else its share of the cores
    (rounded up) plus one."""
    if workers == 1 or env.get("IMAGE_WORKERS"):
        return settings
    share = -(-(os.cpu_count() or 1) // workers)
    return replace(settings, image_workers=share + 1)


def run(
    settings: Settings,
    make_protocol: Callable[[], type[asyncio.Protocol]],
    workers: int,
    **options: Any,
) -> None:
    """Serve with `workers` processes until SIGTERM or SIGINT."""
    from uvicorn.supervisors import Multiprocess

    from web.overrides.worker_config import WorkerConfig

    config = WorkerConfig(
        make_protocol, app=partial(app_of, settings), factory=True, workers=workers, **options
    )
    Multiprocess(config, sockets=[config.bind_socket()]).run()


def app_of(settings: Settings) -> Litestar:
    """The app, made in a worker: the supervisor itself never imports it."""
    from web.app import create_app

    return create_app(settings)
