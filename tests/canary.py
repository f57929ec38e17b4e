"""What the canaries of tests/unit/test_overrides.py share: the loud failure that names the
upstream behaviour, the override that relies on it and the upstream issue; signature checks; and
a uvicorn protocol instance driven by hand (no socket, no server)."""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState


@dataclass(frozen=True)
class Override:
    name: str  # web/overrides/{name}.py
    upstream: str  # where upstream says so: an issue, a PR, a changelog entry, a source file


def relied_on(ok: bool, behaviour: str, override: Override) -> None:
    if not ok:
        pytest.fail(
            f"\n\nUPSTREAM CHANGED: {behaviour}\n  relied on by: web/overrides/{override.name}.py\n"
            f"  upstream: {override.upstream}\n  Re-check the override against the installed "
            "version (drop it if upstream now does the job), then this canary and "
            "docs/architecture.md (Overrides).",
            pytrace=False,
        )


def params(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


def same_params(cls: type[Any], expected: dict[str, list[str]], override: Override) -> None:
    for name, names in expected.items():
        found = params(getattr(cls, name, None) or (lambda: None))
        relied_on(found == names, f"{cls.__name__}.{name}{tuple(names)}: now {found}", override)


async def ok_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


class Transport(asyncio.Transport):
    def write(self, data: Any) -> None:
        pass

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass


def protocol(cls: type[Any], override: Override) -> Any:
    """An instance of uvicorn's protocol `cls` on the running loop, its connection made."""
    config = uvicorn.Config(ok_app, lifespan="off", log_config=None, ws="none")
    made = cls(config, ServerState(), {}, _loop=asyncio.get_running_loop())
    fresh = made.cycle is None and made.loop is asyncio.get_running_loop()
    relied_on(fresh, f"{cls.__name__} has `cycle` (None before a request) and `loop`", override)
    made.connection_made(Transport())
    counted = made in made.connections and isinstance(made.transport, Transport)
    relied_on(counted, f"{cls.__name__}.connection_made adds it to `connections`", override)
    return made
