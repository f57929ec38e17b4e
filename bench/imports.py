"""`ppsync import` throughput (files/s) over generated photos, beside sequential API uploads.

    .venv/bin/python bench/imports.py [--files 200] [--side 1600]

Makes --files members and one photo file each (`member001.jpg`, ...; ten distinct photos of
--side x 3/4 --side, JPEG q90, made like bench/pipeline.py's), then times, each on a fresh
SQLite database with the same members:
- the import's own pool (web/services/pictures/imports.run, what `ppsync import` calls), with
  1 worker thread and with one per core;
- the same files uploaded one after another through a real server's API
  (POST /api/profile/upload-picture with an admin token), as a migration script would.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import Session, select  # noqa: E402

from bench.pipeline import phone_photo  # noqa: E402
from bench.reads import _multipart, bench_server, request  # noqa: E402
from db import migrate  # noqa: E402
from db.engine import make_engine  # noqa: E402
from db.models import User, UserProfile  # noqa: E402
from web.services import imaging  # noqa: E402
from web.services.accounts import passwords, tokens  # noqa: E402
from web.services.audit import Actor  # noqa: E402
from web.services.pictures import imports  # noqa: E402
from web.services.pictures.storage import MediaStore  # noqa: E402

DISTINCT = 10


def photos(folder: Path, count: int, side: int) -> None:
    made = [phone_photo(seed, (side, side * 3 // 4)) for seed in range(DISTINCT)]
    folder.mkdir()
    for n in range(count):
        (folder / f"member{n:03}.jpg").write_bytes(made[n % DISTINCT])


def members_db(path: Path, count: int) -> None:
    """The members (one password hash for all: argon2 per member would dominate the set-up)."""
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    shared = passwords.hash_password("bench-password")
    engine = make_engine(url)
    with Session(engine) as session:
        users = [
            User(handle=f"member{n:03}", display_name=f"M {n}", password_hash=shared)
            for n in range(count)
        ]
        users.append(User(handle="ops", display_name="Ops", password_hash=shared, is_admin=True))
        session.add_all(users)
        session.flush()
        session.add_all(UserProfile(user_id=user.id) for user in users if user.id is not None)
        session.commit()
    engine.dispose()  # the last connection closed: SQLite folds its WAL into the file we copy


def fresh_var(template: Path, root: Path, name: str) -> Path:
    var = root / name
    var.mkdir()
    shutil.copy(template, var / "app.db")
    return var


def pool_run(var: Path, folder: Path, workers: int) -> float:
    engine = make_engine(f"sqlite:///{var / 'app.db'}")
    report = imports.run(
        lambda: Session(engine, expire_on_commit=False),
        MediaStore(var / "media"),
        folder,
        actor=Actor(user_id=None),
        limits=imaging.Limits(),
        workers=workers,
    )
    missed = [(o.path.name, o.status, o.reason) for o in report.outcomes if o.status != "imported"]
    if missed:
        raise RuntimeError(f"not all imported: {missed[:5]}")
    return report.per_second


def api_run(var: Path, folder: Path) -> float:
    server = bench_server(var, f"sqlite:///{var / 'app.db'}", uploads_per_minute=100000)
    with Session(make_engine(f"sqlite:///{var / 'app.db'}")) as session:
        ids = {user.handle: user.id for user in session.exec(select(User))}
        token = tokens.issue_token(
            session, actor=Actor(user_id=None), name="bench", user_id=ids["ops"]
        )
    server.start()
    try:
        auth = {"Authorization": f"Bearer {token}"}
        files = sorted(folder.iterdir())
        start = time.perf_counter()
        for path in files:
            body, boundary = _multipart(ids[path.stem], path.read_bytes())
            request(
                server,
                "/api/profile/upload-picture",
                data=body,
                headers=auth | {"Content-Type": f"multipart/form-data; boundary={boundary}"},
            )
        return len(files) / (time.perf_counter() - start)
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--side", type=int, default=1600)
    parser.add_argument("--skip-api", action="store_true")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="ppsync-import-bench-") as tmp:
        root = Path(tmp)
        folder = root / "avatars"
        photos(folder, args.files, args.side)
        size = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
        print(
            f"{args.files} photos {args.side}x{args.side * 3 // 4} JPEG q90, {size:.0f} MiB; "
            f"{cores} cores (shared machine: figures vary with its load)"
        )
        template = root / "members.db"
        members_db(template, args.files)
        for workers in sorted({1, cores}):
            rate = pool_run(fresh_var(template, root, f"pool{workers}"), folder, workers)
            print(f"ppsync import, {workers} worker(s): {rate:6.1f} files/s")
        if not args.skip_api:
            rate = api_run(fresh_var(template, root, "api"), folder)
            print(f"sequential API uploads:       {rate:6.1f} files/s")


if __name__ == "__main__":
    main()
