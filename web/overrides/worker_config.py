"""uvicorn's config for `ppsync serve --workers N`: the HTTP protocol class made in each worker.

uvicorn's supervisor (`uvicorn.supervisors.Multiprocess`, behind its own `--workers`) starts
every worker with the `spawn` method, so its whole `Config` is pickled into the worker, again
for each worker it starts to replace one that died. The app travels as a factory that pickles
(a module-level function and the settings), but the protocol class that holds the server's
limits (server_limits.py) is made at run time, the limits being its class attributes, and
pickle names a class by module and name: one made at run time does not pickle. So this config
carries how to make the class (a picklable callable) and makes it in `load()`, which uvicorn's
`Server` calls in the worker before it serves. When the app cannot be made there (an exception
from the factory), the worker exits with uvicorn's STARTUP_FAILURE, as for an app that cannot
be imported, so the supervisor stops instead of starting a worker that fails again every half
second (encode/uvicorn discussion #2440: only that status stops it).

What it relies on upstream (uvicorn 0.54: uv.lock), canaried in tests/unit/test_overrides.py:
`Multiprocess(config, sockets)` spawns each worker with the config pickled, and the worker's
`Server` calls `config.load()` before serving; `Config.load()` turns `self.http` (a name or a
class) into `http_protocol_class`; the supervisor stops when a worker exits STARTUP_FAILURE.
No setting makes the protocol in the worker: `http=` takes "auto", "h11", "httptools" or a
class.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE

log = logging.getLogger("uvicorn.error")


class WorkerConfig(uvicorn.Config):
    """`uvicorn.Config` with `make_protocol` (picklable) in place of a protocol class."""

    def __init__(self, make_protocol: Callable[[], type[asyncio.Protocol]], **options: Any):
        super().__init__(**options)
        self.make_protocol = make_protocol

    def load(self) -> None:
        try:
            self.http = self.make_protocol()  # in the worker: the class never crosses a pickle
            super().load()
        except Exception:
            log.exception("The app could not be made in this worker: stopping")
            sys.exit(STARTUP_FAILURE)
