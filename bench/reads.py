"""Read bursts: `wrk` on the hot reads of a real server, SQLite and PostgreSQL, beside /healthz.

    .venv/bin/python bench/reads.py [--connections 32] [--seconds 5] [--rounds 3]
                                    [--backends sqlite postgresql]

For each backend (PostgreSQL only when TEST_POSTGRES_URL is set: a throwaway database is created
beside it and dropped after), a `ppsync serve` runs on a free port over a temporary VAR_DIR, with
one member who has uploaded one picture. Then `wrk -t2 -c32 -d5s` runs, one target at a time, the
whole list once per round (so /healthz is measured beside the others each time):

  healthz        GET /healthz: no database, the process's own ceiling in this run
  fragment       GET /components/avatar/<id>?size=sm without `v` (200)
  fragment 304   the same with its ETag in If-None-Match
  fragment v 304 ?v=<version> with If-None-Match
  media          GET /media/avatars/...: a picture file (200)

Each round measures /healthz first and last, and each target's share is of the mean of the two.
Printed per target (the round with the median share): requests/s, latency p50/p99/max, answers
that were not 2xx/3xx, socket errors, requests/s as a share of /healthz's, the goal (issue 15:
fragment 0.6x, fragment 304 0.9x, media 0.8x) and PASS/FAIL, and how long one GET /healthz took
right after the burst. Then the "no stall" verdict: every answer 2xx/3xx, no socket error, max
latency and that /healthz under --max-latency, at least one answer per client. Exits 1 when the
verdict or a goal fails. Needs `wrk` (Debian: apt-get install wrk).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import Server  # noqa: E402  (the e2e tests' server, their settings off)
from tests.services import fresh_database  # noqa: E402

PASSWORD = "bench-password-1"  # noqa: S105  (a throwaway member in a temp database)
# Issue 15's goals: requests/s as a share of /healthz's, same run, `wrk -t2 -c32`.
GOALS = {"fragment": 0.6, "fragment 304": 0.9, "media": 0.8}


@dataclass
class Target:
    name: str
    path: str
    headers: tuple[str, ...] = ()


@dataclass
class Result:
    target: Target
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    bad_status: int
    socket_errors: int
    healthz_after_ms: float = 0.0  # one GET /healthz right after the burst (inf: no answer)
    ratio: float = 1.0  # requests/s over its round's /healthz (measured first and last)


# --- the server ----------------------------------------------------------------------------


def bench_server(var: Path, database_url: str, uploads_per_minute: int = 1000) -> Server:
    """A server (not started) over `var` and the database, with the production settings."""
    env = {"DATABASE_URL": database_url, "UPLOADS_PER_MINUTE": str(uploads_per_minute)}
    return Server(var, env, test_only=False)


def request(
    server: Server, path: str, *, data: bytes | None = None, headers: dict[str, str]
) -> bytes:
    url = f"{server.url}{path}"  # http://127.0.0.1 only
    asked = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310
    with urllib.request.urlopen(asked, timeout=30) as response:  # noqa: S310
        body: bytes = response.read()
        return body


def seed(server: Server) -> list[Target]:
    """One member with one uploaded picture; the targets that read them."""
    member = int(server.ppsync("user", "add", "alice", stdin=PASSWORD))
    token = server.ppsync("token", "add", "alice")
    auth = {"Authorization": f"Bearer {token}"}
    body, boundary = _multipart(member, _jpeg())
    request(
        server,
        "/api/profile/upload-picture",
        data=body,
        headers=auth | {"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    state = json.loads(request(server, f"/api/profile/picture/{member}", headers=auth))
    version = state["pictureVersion"]
    media = state["urls"]["sm"]["webp1x"]
    fragment = f"/components/avatar/{member}?size=sm"
    etag = f'If-None-Match: "a{member}-v{version}-sm"'
    return [
        Target("healthz", "/healthz"),
        Target("fragment", fragment),
        Target("fragment 304", fragment, (etag,)),
        Target("fragment v 304", f"{fragment}&v={version}", (etag,)),
        Target("media", media.removeprefix(server.url)),
    ]


def _jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 40, 40)).save(out, "JPEG")
    return out.getvalue()


def _multipart(
    member: int | str, picture: bytes, fields: dict[str, str] | None = None
) -> tuple[bytes, str]:
    boundary = secrets.token_hex(8)
    more = {"userId": str(member)} | (fields or {})
    parts = [
        *(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in more.items()
        ),
        f'--{boundary}\r\nContent-Disposition: form-data; name="profilePicture"; '
        f'filename="me.jpg"\r\nContent-Type: image/jpeg\r\n\r\n',
    ]
    body = "".join(parts).encode() + picture + f"\r\n--{boundary}--\r\n".encode()
    return body, boundary


# --- wrk -----------------------------------------------------------------------------------


def run_wrk(url: str, target: Target, connections: int, seconds: int) -> Result:
    headers = [arg for header in target.headers for arg in ("-H", header)]
    command = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "30s",
        "--latency",
        *headers,
        f"{url}{target.path}",
    ]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60).stdout
    return Result(
        target=target,
        requests_per_s=float(_find(r"Requests/sec:\s+([\d.]+)", out)),
        p50_ms=_ms(_find(r"\s50%\s+(\S+)", out)),
        p99_ms=_ms(_find(r"\s99%\s+(\S+)", out)),
        max_ms=_ms(_find(r"Latency\s+\S+\s+\S+\s+(\S+)", out)),
        requests=int(_find(r"(\d+) requests in", out)),
        bad_status=int(_find(r"Non-2xx or 3xx responses:\s+(\d+)", out, "0")),
        socket_errors=sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out)),
    )


def probe(url: str, timeout: float = 60.0) -> float:
    """Milliseconds one GET takes right after a burst: a jammed process answers late or never."""
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=timeout):  # noqa: S310  (http://127.0.0.1)
            return (time.perf_counter() - started) * 1000
    except OSError:
        return float("inf")


def _find(pattern: str, text: str, default: str | None = None) -> str:
    match = re.search(pattern, text)
    if match:
        return match.group(1)
    if default is None:
        raise RuntimeError(f"wrk printed no {pattern!r}:\n{text}")
    return default


def _ms(value: str) -> float:
    unit = re.sub(r"[\d.]", "", value)
    return (
        float(value.removesuffix(unit)) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]
    )


# --- the runs ------------------------------------------------------------------------------


def bench(backend: str, args: argparse.Namespace) -> list[Result]:
    """Every target once per round, in order; the median round's figures per target."""
    with (
        tempfile.TemporaryDirectory(prefix="ppsync-reads-") as tmp,
        fresh_database(backend, Path(tmp)) as url,
    ):
        server = bench_server(Path(tmp), url).start()
        try:
            targets = seed(server)
            rounds = [_round(server, targets, args) for _ in range(args.rounds)]
            return [_median([r[i] for r in rounds]) for i in range(len(targets))]
        finally:
            server.stop()


def _round(server: Server, targets: list[Target], args: argparse.Namespace) -> list[Result]:
    """/healthz, every target, /healthz again: each ratio is to the mean of the two, so a
    neighbour's load that comes or goes during the round weighs on both sides alike."""
    results = []
    for target in [*targets, targets[0]]:
        result = run_wrk(server.url, target, args.connections, args.seconds)
        result.healthz_after_ms = probe(f"{server.url}/healthz")
        results.append(result)
    baseline = (results[0].requests_per_s + results.pop().requests_per_s) / 2 or 1.0
    for result in results:
        result.ratio = result.requests_per_s / baseline
    return results


def _median(results: list[Result]) -> Result:
    """The round with the median ratio; the stall figures are the worst of all rounds."""
    middle = sorted(results, key=lambda r: r.ratio)[len(results) // 2]
    return Result(
        target=middle.target,
        requests_per_s=middle.requests_per_s,
        p50_ms=middle.p50_ms,
        p99_ms=middle.p99_ms,
        max_ms=max(r.max_ms for r in results),
        requests=min(r.requests for r in results),
        bad_status=sum(r.bad_status for r in results),
        socket_errors=sum(r.socket_errors for r in results),
        healthz_after_ms=max(r.healthz_after_ms for r in results),
        ratio=middle.ratio,
    )


def report(backend: str, results: list[Result], args: argparse.Namespace) -> bool:
    max_latency_ms: float = args.max_latency
    print(
        f"\n{backend}: wrk -t2 -c{args.connections} -d{args.seconds}s,"
        f" median of {args.rounds} rounds"
    )
    print(
        f"  {'target':<15}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'requests':>10}{'non-2xx':>9}{'sock err':>9}{'/healthz':>10}{'goal':>7}{'':>6}"
        f"{'then ms':>9}"
    )
    healthy = met = True
    for r in results:
        ratio = r.ratio
        goal = GOALS.get(r.target.name)
        verdict = "" if goal is None else ("PASS" if ratio >= goal else "FAIL")
        print(
            f"  {r.target.name:<15}{r.requests_per_s:>9.0f}{r.p50_ms:>9.1f}{r.p99_ms:>9.1f}"
            f"{r.max_ms:>9.1f}{r.requests:>10}{r.bad_status:>9}{r.socket_errors:>9}"
            f"{ratio:>10.2f}{'' if goal is None else f'{goal:.1f}x':>7}{verdict:>6}"
            f"{r.healthz_after_ms:>9.1f}"
        )
        met &= goal is None or ratio >= goal
        healthy &= r.bad_status == 0 and r.socket_errors == 0 and r.max_ms < max_latency_ms
        # A jammed process completes fewer requests than it has clients, and answers late after.
        healthy &= r.requests >= args.connections and r.healthz_after_ms < max_latency_ms
    verdict = "no stall" if healthy else "STALL"
    print(
        f"  {verdict}: every answer 2xx/3xx, no socket error, max latency and /healthz right"
        f" after < {max_latency_ms:.0f} ms, at least one answer per client"
        f" -> {'yes' if healthy else 'NO'}"
    )
    print(f"  goals (share of /healthz's requests/s): {'all PASS' if met else 'some FAIL'}")
    print("  (then ms: one GET /healthz right after each burst, the slowest of the rounds;")
    print("   /healthz's own share: its first burst against the mean of its round's two)")
    return healthy and met


def main() -> int:
    args = _args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    backends = [b for b in args.backends if b == "sqlite" or os.environ.get("TEST_POSTGRES_URL")]
    skipped = set(args.backends) - set(backends)
    if skipped:
        print(f"skipped {', '.join(sorted(skipped))}: TEST_POSTGRES_URL is not set")
    print(f"machine: {os.cpu_count()} CPUs; load average {_load()}")
    ok = True
    for backend in backends:
        ok &= report(backend, bench(backend, args), args)
    print(f"load average after: {_load()}")
    return 0 if ok else 1


def _load() -> str:
    return " ".join(f"{n:.2f}" for n in os.getloadavg())


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=32, help="wrk -c (issue 15: 32)")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="medians over this many rounds")
    parser.add_argument("--max-latency", type=float, default=5000.0, help="ms; the stall bound")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())
