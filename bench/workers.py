"""`ppsync serve --workers N`: the avatar partial's requests/s and the upload throughput with 1
and 2 workers, side by side in the same run.

    TEST_REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/workers.py [--rounds 5]

Two servers run at once, on free ports, each over a temporary VAR_DIR (SQLite) and a fresh
Redis prefix (more than one worker needs REDIS_URL; the one-worker server gets it too, so the
two differ only in --workers), with the production settings and UPLOADS_PER_MINUTE lifted.
Each has twelve members with an API token each, the first with one picture. Every round
measures, alternating between the two servers (the other one idle):

  partial   `wrk -t2 -c32 -d5s` on GET /components/avatar/<id>?size=sm (200: the fragment)
  uploads   bench/upload.py's 12 MP phone photo uploaded by the twelve members through the
            API, four in flight at a time: uploads/s

Printed: the median of the rounds for each, and the median of the rounds' ratios, 2 workers
over 1 (each round's pair measured a few seconds apart: the machine's load, which drifts,
cancels out more than in a ratio of medians). IMAGE_WORKERS is
left unset, so the one worker has a decode process per core and each of the two its share of
the cores plus one (web/cli/workers.py). Needs `wrk` and Redis (REDIS_URL or TEST_REDIS_URL).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reads import Server, Target, run_wrk  # noqa: E402
from upload import IN_FLIGHT, MEMBERS, exif_photo, uploader  # noqa: E402

from tests.services import fresh_redis_prefix  # noqa: E402

WORKERS = (1, 2)
CONNECTIONS, SECONDS = 32, 5


@contextmanager
def server_with(workers: int, var: Path, redis: str) -> Iterator[Server]:
    env = {
        "DATABASE_URL": f"sqlite:///{var / 'app.db'}",
        "REDIS_URL": redis,
        "REDIS_PREFIX": fresh_redis_prefix(),
        "UPLOADS_PER_MINUTE": "100000",
    }
    server = Server(var, env, test_only=False, serve_args=["--workers", str(workers)])
    server.start()
    try:
        yield server
    finally:
        server.stop()


def team(server: Server) -> list[tuple[int, str]]:
    """(member id, API token) for MEMBERS new members, made on the server's database."""
    made = []
    for n in range(MEMBERS):
        member = server.add_member(f"member{n}")
        made.append((member, server.token(member)))
    return made


def wait_for_workers(server: Server, workers: int) -> None:
    """Until every worker has started (the server answers once the first has)."""
    deadline = time.monotonic() + 120
    while server.log().count("Application startup complete") < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{workers} workers did not start: {server.log()[-2000:]}")
        time.sleep(0.2)


def uploads_per_s(upload: Callable[[tuple[int, str]], float], members: list) -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(IN_FLIGHT) as clients:
        list(clients.map(upload, members))
    return len(members) / (time.perf_counter() - start)


def main() -> int:
    args = _args()
    redis = os.environ.get("REDIS_URL") or os.environ.get("TEST_REDIS_URL")
    if not redis:
        print("bench/workers.py: set REDIS_URL or TEST_REDIS_URL (more than one worker needs it)")
        return 2
    photo = exif_photo()
    partial_rates: dict[int, list[float]] = {n: [] for n in WORKERS}
    upload_rates: dict[int, list[float]] = {n: [] for n in WORKERS}
    with tempfile.TemporaryDirectory(prefix="ppsync-workers-") as tmp, ExitStack() as stack:
        servers, teams, uploads = {}, {}, {}
        for n in WORKERS:
            (Path(tmp) / str(n)).mkdir()
            servers[n] = stack.enter_context(server_with(n, Path(tmp) / str(n), redis))
            wait_for_workers(servers[n], n)
            teams[n] = team(servers[n])
            uploads[n] = uploader(servers[n], photo)
            uploads[n](teams[n][0])  # the first member's picture; every worker's pipeline warm
        for _ in range(args.rounds):
            for n in WORKERS:
                fragment = Target("partial", f"/components/avatar/{teams[n][0][0]}?size=sm")
                result = run_wrk(servers[n].url, fragment, CONNECTIONS, SECONDS)
                assert result.bad_status == 0 and result.socket_errors == 0, result
                partial_rates[n].append(result.requests_per_s)
            for n in WORKERS:
                upload_rates[n].append(uploads_per_s(uploads[n], teams[n]))
    report(partial_rates, upload_rates, args.rounds)
    return 0


def report(partial: dict[int, list[float]], uploads: dict[int, list[float]], rounds: int) -> None:
    one, five, _ = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores; load {one:.2f} (1 min), {five:.2f} (5 min)")
    print(f"median of {rounds} rounds        1 worker   2 workers   2 / 1 (paired by round)")
    rows = (
        (f"partial, wrk -c{CONNECTIONS} (req/s)", partial),
        (f"uploads, {IN_FLIGHT} in flight (/s)", uploads),
    )
    for label, rates in rows:
        a, b = statistics.median(rates[1]), statistics.median(rates[2])
        paired = statistics.median(two / one for one, two in zip(rates[1], rates[2], strict=True))
        print(f"  {label:28}{a:9.1f}{b:12.1f}{paired:8.2f}x")
    for label, rates in rows:
        each = "; ".join(f"{n}: " + ", ".join(f"{r:.1f}" for r in rates[n]) for n in WORKERS)
        print(f"  rounds of {label.split(',')[0]}: {each}")


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
