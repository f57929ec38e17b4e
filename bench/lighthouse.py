"""Lighthouse on the directory, a member's page and /profile, mobile and desktop (issue 25).

    .venv/bin/python bench/lighthouse.py [--members 60] [--lighthouse-dir DIR] [--only FORM:PATH]

A server runs as `make run` runs it (`ppsync db upgrade`, `seed-demo`, `serve`: production
settings, SQLite under a temporary VAR_DIR), with 60 members who each uploaded a photo through the
API. npm installs Lighthouse 12 into a temporary folder (or DIR, kept for the next run), never
into the repo; it drives Debian's Chromium (CHROME_PATH, default /usr/bin/chromium). /profile is
audited signed in: the session cookie goes in --extra-headers. The pages hold /events open, so
--max-wait-for-load bounds the wait for a quiet network.

Prints, per page and form factor: the performance score, CLS, the LCP, the audits issue 25 names
(pass or FAIL), the bytes of images fetched and the median card avatar. Goals: performance >=
0.95, CLS 0, every audit passing; a card avatar <= 5 KB median; the mobile directory's images
<= 180 KB. Exits 1 when one is missed.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlmodel import col, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from pipeline import phone_photo  # noqa: E402
from reads import Server, bench_server  # noqa: E402

from db.models import ProfilePicture  # noqa: E402
from tests.factories import PASSWORD, add_member  # noqa: E402
from web.services.accounts import members  # noqa: E402
from web.services.pictures.names import AVIF_META  # noqa: E402

LIGHTHOUSE = "lighthouse@12.2.3"  # 13 wants Node 22; npm refuses locks made with 12.3-13.4
AUDITS = (
    "uses-responsive-images",
    "lcp-lazy-loaded",
    "uses-text-compression",
    "uses-long-cache-ttl",
    "offscreen-images",
    "unsized-images",
)
GOAL_SCORE = 0.95
GOAL_CARD_BYTES = 5_000
GOAL_MOBILE_DIRECTORY_BYTES = 180_000
CARD_FILE = r"-(80|96|192)\.(avif|webp|jpg)$"  # the files a card's avatar may fetch
MAX_WAIT_MS = 15_000
# The uploads' AVIF copies are made after their answers, one at a time at the lowest priority:
# on a busy machine, slowly. The pages are audited with those made by then (the count printed).
AVIF_WAIT_S = 90.0


def install(folder: Path) -> Path:
    cli = folder / "node_modules" / ".bin" / "lighthouse"
    if not cli.exists():
        subprocess.run(
            [
                "npm",
                "install",
                "--prefix",
                str(folder),
                "--no-audit",
                "--no-fund",
                "-E",
                LIGHTHOUSE,
            ],
            check=True,
            capture_output=True,
        )
    return cli


def seed(server: Server, count: int) -> str:
    """`count` members with a photo each (alice, bob and carol among them, as seed-demo makes
    them); the Cookie header of one signed in. Members and tokens are written to the database
    as the CLI writes them (a process each would take minutes); the photos go through the API."""
    server.ppsync("seed-demo")
    handles = ["alice", "bob", "carol"] + [f"member{n:02}" for n in range(count - 3)]
    with server.session() as db:
        ids = [
            members.member_by_handle(db, handle).id  # type: ignore[union-attr]
            for handle in handles[:3]
        ]
        ids += [add_member(db, handle, handle.title()) for handle in handles[3:]]
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for n, user_id in enumerate(ids):
            answer = client.post(
                "/api/profile/upload-picture",
                headers={"Authorization": f"Bearer {server.token(user_id)}"},
                data={"userId": str(user_id)},
                files={"profilePicture": ("me.jpg", phone_photo(n, (1200, 900)), "image/jpeg")},
            )
            answer.raise_for_status()
    avif_settled(server, ids)
    return session_cookie(server)


def avif_settled(server: Server, ids: list[int]) -> None:
    """Waits until every upload's AVIF copies are decided (web/followups.py), so that the pages
    are audited as they stay, with no encode running beside them."""
    deadline = time.monotonic() + AVIF_WAIT_S
    while True:
        with server.session() as db:
            metas = db.exec(
                select(ProfilePicture.meta).where(
                    col(ProfilePicture.user_id).in_(ids), col(ProfilePicture.is_active)
                )
            ).all()
        done = [meta[AVIF_META] for meta in metas if AVIF_META in meta]
        if len(done) == len(ids) or time.monotonic() > deadline:
            sizes = collections.Counter(px for kept in done for px in kept)
            print(
                f"AVIF decided for {len(done)} of {len(ids)} pictures; kept per px: {dict(sizes)}"
            )
            return
        time.sleep(1.0)


def session_cookie(server: Server) -> str:
    """The Cookie header of member00 signed in (seed-demo's password is random)."""
    with httpx.Client(base_url=server.url, timeout=60) as client:
        client.get("/login")
        token = client.cookies["csrftoken"]
        form = {"handle": "member00", "password": PASSWORD, "_csrf_token": token}
        signed_in = client.post("/login", data=form)
        assert signed_in.status_code == 303, signed_in.text
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def audit(cli: Path, url: str, form: str, cookie: str | None, out: Path) -> dict:
    flags = [
        f"--output-path={out}",
        "--output=json",
        "--only-categories=performance",
        f"--max-wait-for-load={MAX_WAIT_MS}",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
        "--quiet",
    ]
    if form == "desktop":
        flags.append("--preset=desktop")
    if cookie:
        flags.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
    env = os.environ | {"CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
    subprocess.run([str(cli), url, *flags], check=True, env=env, capture_output=True)
    report: dict = json.loads(out.read_text())
    return report


def figures(report: dict) -> dict[str, object]:
    audits = report["audits"]
    images = [
        r
        for r in audits["network-requests"]["details"]["items"]
        if r.get("resourceType") == "Image" and not r["url"].startswith("data:")
    ]
    cards = [r["transferSize"] for r in images if re.search(CARD_FILE, r["url"])]
    row: dict[str, object] = {
        "performance": report["categories"]["performance"]["score"],
        "cls": audits["cumulative-layout-shift"]["numericValue"],
        "lcp_ms": audits["largest-contentful-paint"]["numericValue"],
        "tbt_ms": audits["total-blocking-time"]["numericValue"],
        "image_bytes": sum(r["transferSize"] for r in images),
        "card_median": statistics.median(cards) if cards else None,
    }
    for name in AUDITS:
        found = audits[name]
        row[name] = found["score"] is None or found["score"] >= 0.9
    return row


def print_tasks(report: dict) -> None:
    """Where the main thread was blocked: the long tasks and each script's time."""
    audits = report["audits"]
    for task in audits["long-tasks"]["details"]["items"]:
        print(f"  long task {task['duration']:.0f} ms at {task['startTime']:.0f} ms: {task['url']}")
    for script in audits["bootup-time"]["details"]["items"]:
        print(
            f"  script {script['url']}: {script['scripting']:.0f} ms scripting, "
            f"{script['scriptParseCompile']:.0f} ms parse"
        )


def print_table(rows: dict[tuple[str, str], dict[str, object]]) -> list[str]:
    missed = []
    for (form, page), row in rows.items():
        card = row["card_median"]
        print(
            f"{form:8} {page:16} performance {row['performance']:.2f}  CLS {row['cls']:.3f}  "
            f"LCP {row['lcp_ms']:.0f} ms  TBT {row['tbt_ms']:.0f} ms  "
            f"images {row['image_bytes'] / 1000:.1f} KB"
            + (f"  card median {card / 1000:.1f} KB" if isinstance(card, (int, float)) else "")
        )
        print("         " + "  ".join(f"{a} {'pass' if row[a] else 'FAIL'}" for a in AUDITS))
        missed += check(form, page, row)
    return missed


def check(form: str, page: str, row: dict[str, object]) -> list[str]:
    missed = [f"{form} {page}: {a}" for a in AUDITS if not row[a]]
    if float(row["performance"]) < GOAL_SCORE:  # type: ignore[arg-type]
        missed.append(f"{form} {page}: performance {row['performance']}")
    if float(row["cls"]) > 0:  # type: ignore[arg-type]
        missed.append(f"{form} {page}: CLS {row['cls']}")
    card = row["card_median"]
    if page == "directory" and isinstance(card, (int, float)) and card > GOAL_CARD_BYTES:
        missed.append(f"{form} directory: card median {card} bytes")
    images = int(row["image_bytes"])  # type: ignore[call-overload]
    if (form, page) == ("mobile", "directory") and images > GOAL_MOBILE_DIRECTORY_BYTES:
        missed.append(f"mobile directory: images {images} bytes")
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=60)
    parser.add_argument("--lighthouse-dir", type=Path, default=None)
    parser.add_argument(
        "--only", default=None, help="one page of one form, e.g. mobile:/profile (with its tasks)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ppsync-lighthouse-") as tmp:
        cli = install(args.lighthouse_dir or Path(tmp) / "npm")
        server = bench_server(Path(tmp), f"sqlite:///{Path(tmp) / 'app.db'}", 100_000)
        server.start()
        try:
            cookie = seed(server, args.members)
            pages = {
                "directory": ("/members", None),
                "member page": ("/members/alice", None),
                "/profile": ("/profile", cookie),
            }
            rows = {}
            for form in ("mobile", "desktop"):
                for name, (path, sent) in pages.items():
                    if args.only and args.only != f"{form}:{path}":
                        continue
                    out = Path(tmp) / f"{form}-{name.replace('/', '')}.json"
                    report = audit(cli, f"{server.url}{path}", form, sent, out)
                    rows[form, name] = figures(report)
                    if args.only:
                        print_tasks(report)
        finally:
            server.stop()
    print(
        f"Lighthouse 12, {args.members} members with photos; goals: performance >= "
        f"{GOAL_SCORE}, CLS 0, the audits pass, card median <= {GOAL_CARD_BYTES / 1000} KB, "
        f"mobile directory images <= {GOAL_MOBILE_DIRECTORY_BYTES / 1000:.0f} KB"
    )
    missed = print_table(rows)
    print("missed: " + "; ".join(missed) if missed else "every goal met")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
