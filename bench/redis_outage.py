"""Kills Redis under a real `ppsync serve` and prints what a signed-in member gets.

    .venv/bin/python bench/redis_outage.py [--postgres] [-n 200]

Starts its own redis-server on a free port (nothing kept on disk) and a server over a fresh
database (SQLite in a temporary folder, or with --postgres a fresh database beside
TEST_POSTGRES_URL's), signs a
member in, then times GET /profile with Redis up, killed and restarted, and posts form uploads
while it is down until the rate limit answers 429. Also times the session store alone: the
database store against Redis, one session read and one write. Exits 1 on any 5xx.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from litestar.stores.base import Store  # noqa: E402
from litestar.stores.redis import RedisStore  # noqa: E402

from db import migrate  # noqa: E402
from db.engine import make_engine  # noqa: E402
from tests.e2e.conftest import Server  # noqa: E402
from tests.e2e.pages import sign_in  # noqa: E402
from tests.factories import jpeg  # noqa: E402
from tests.private_redis import PrivateRedis, private_redis  # noqa: E402
from tests.services import fresh_postgres_database  # noqa: E402
from web.plumbing.session_store import DatabaseStore  # noqa: E402
from web.plumbing.stores import store_redis  # noqa: E402

LIMIT = 5
SESSION = 14 * 86400


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("-n", type=int, default=200, help="requests per timing")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        var = stack.enter_context(tempfile.TemporaryDirectory())
        redis = stack.enter_context(private_redis())
        if args.postgres:
            url = stack.enter_context(fresh_postgres_database())
        else:
            url = f"sqlite:///{var}/app.db"
        return run(Path(var), url, redis, args.n)


def run(var: Path, database_url: str, redis: PrivateRedis, n: int) -> int:
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis.url,
        "REDIS_PREFIX": "bench",
        "UPLOADS_PER_MINUTE": str(LIMIT),
    }
    server = Server(var, env, test_only=False).start()  # the production settings
    server.add_member("alice")
    statuses: list[int] = []
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            sign_in(client, "alice")
            print(f"database: {database_url.split(':')[0]}")
            statuses += timed(client, n, "GET /profile, Redis up")
            redis.kill()
            statuses += timed(client, n, "GET /profile, Redis killed")
            uploads = [upload(client, colour) for colour in ("red", "blue", "lime", "teal", "navy")]
            uploads.append(upload(client, "olive"))
            print(f"form uploads while Redis is down (limit {LIMIT}/min): {uploads}")
            statuses += uploads
            redis.start()
            statuses += timed(client, n, "GET /profile, Redis restarted")
            time.sleep(5)  # the fallback's retry interval: the next upload asks Redis again
            after = upload(client, "maroon")
            print(f"form upload after the restart: {after} (Redis was emptied: a fresh count)")
            statuses.append(after)
    finally:
        server.stop()
    lines = server.log().splitlines()
    noted = [line for line in lines if "Redis" in line or "channels" in line]
    print("server log lines naming Redis or channels:", *noted[:8], sep="\n  ")
    asyncio.run(store_timings(database_url, redis))
    return 1 if any(status >= 500 for status in statuses) else 0


def upload(client: httpx.Client, colour: str) -> int:
    response = client.post(
        "/profile/picture",
        files={"profilePicture": ("me.jpg", jpeg(colour), "image/jpeg")},
        data={"_csrf_token": client.cookies["csrftoken"]},
    )
    return response.status_code


def timed(client: httpx.Client, n: int, label: str) -> list[int]:
    seconds, statuses = [], []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get("/profile")
        seconds.append(time.perf_counter() - started)
        statuses.append(response.status_code)
    signed_in = "Log out" in response.text
    print(
        f"{label}: median {ms(statistics.median(seconds))}, p95 {ms(quantile(seconds, 0.95))}, "
        f"max {ms(max(seconds))}; statuses {sorted(set(statuses))}; signed in: {signed_in}"
    )
    return statuses


async def store_timings(database_url: str, redis: PrivateRedis) -> None:
    engine = make_engine(database_url)
    migrate.upgrade(database_url)
    stores: dict[str, Store] = {
        "database": DatabaseStore(engine).with_namespace("sessions"),
        "redis": RedisStore(redis=store_redis(redis.url), namespace="bench"),
    }
    for name, store in stores.items():
        writes, views = [], []
        for i in range(300):
            key = f"k{i % 20}"
            started = time.perf_counter()
            await store.set(key, b"%d" % i + b"x" * 200, expires_in=SESSION)  # a changed session
            writes.append(time.perf_counter() - started)
            started = time.perf_counter()
            value = await store.get(key)  # a page view: read, write back unchanged
            await store.set(key, value or b"", expires_in=SESSION)
            views.append(time.perf_counter() - started)
        print(
            f"session store {name}: changed-session write median {ms(statistics.median(writes))}, "
            f"page view (read + unchanged write-back) median {ms(statistics.median(views))}"
        )
    engine.dispose()


def quantile(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


if __name__ == "__main__":
    sys.exit(main())
