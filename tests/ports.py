"""A free TCP port on the loopback, for servers a test starts; an ASGI app served on one by a
real uvicorn in a thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def uvicorn_thread(app: Any, http: Any) -> Iterator[int]:
    """`app` served by uvicorn with the protocol class `http` (no websockets, no lifespan) in a
    daemon thread, from when it listens: its port. Stopped on the way out."""
    config = uvicorn.Config(
        app, port=free_port(), http=http, ws="none", lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield config.port
    server.should_exit = True
    thread.join(10)
