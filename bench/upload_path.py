"""Which of the app's files one upload runs through: a member's form upload of a photo, traced
from the request to the answer and the event on the stream, in this process.

    .venv/bin/python bench/upload_path.py [--list]

The app runs under Litestar's test client over a temporary SQLite database. The decode worker's
side is traced here too: the cage's `run` calls its function in this process (the worker runs
the very same code). Counted: the files of web/, db/ and components/ in which a function ran
between the POST and its answer (imports excluded: every module is imported before).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from litestar.testing import TestClient  # noqa: E402
from sqlmodel import Session  # noqa: E402

from db import migrate  # noqa: E402
from tests.factories import add_member  # noqa: E402
from tests.forms import HX, csrf, log_in  # noqa: E402
from tests.images import jpeg  # noqa: E402
from web.app import create_app  # noqa: E402
from web.services.imaging import cage  # noqa: E402
from web.settings import FAST_INSECURE_HASHER, Settings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TRACED = tuple(str(ROOT / folder) + "/" for folder in ("web", "db", "components"))


def in_process(_ceilings: object, fn: Callable[..., Any], data: bytes, /, **kw: Any) -> Any:
    return fn(data, **kw)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print the files, not just the count")
    args = parser.parse_args()
    files = sorted(path.relative_to(ROOT).as_posix() for path in traced_upload())
    code = [name for name in files if name.endswith(".py")]
    if args.list:
        print("\n".join(files))
    print(f"{len(code)} Python files and {len(files) - len(code)} templates run for one upload")


def traced_upload() -> set[Path]:
    var = Path(tempfile.mkdtemp(prefix="upload-path-"))
    settings = Settings(
        database_url=f"sqlite:///{var / 'app.db'}",
        media_root=var / "media",
        var_dir=var,
        secret_key="upload-path-" + "x" * 40,
        password_hasher=FAST_INSECURE_HASHER,
    )
    migrate.upgrade(settings.database_url)
    cage.run = in_process  # type: ignore[assignment]
    app = create_app(settings)
    seen: set[str] = set()
    tracing = threading.Event()

    def note(frame: FrameType, _event: str, _arg: object) -> None:
        if tracing.is_set():
            seen.add(frame.f_code.co_filename)

    # Every thread the client starts (the event loop's, the handlers' pool) profiles from birth;
    # only what runs while `tracing` is set is counted.
    threading.setprofile(note)  # type: ignore[arg-type]
    sys.setprofile(note)  # type: ignore[arg-type]
    with TestClient(app) as client, Session(app.state["engine"]) as db:
        add_member(db, "tracer", "Tracer")
        log_in(client, "tracer")
        photo = jpeg(size=(1600, 1200))
        form = {"_csrf_token": csrf(client)}
        tracing.set()
        response = client.post(
            "/profile/picture",
            files={"profilePicture": ("me.jpg", photo, "image/jpeg")},
            data=form,
            headers=HX,  # as a browser with JavaScript posts it: the answer is the page's part
        )
        time.sleep(0.2)  # the publish after the commit runs on the event loop
        tracing.clear()
    sys.setprofile(None)
    threading.setprofile(None)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return {Path(name) for name in seen if name.startswith(TRACED)}


if __name__ == "__main__":
    main()
