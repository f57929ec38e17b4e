"""`ppsync` for the tests: in this process through `main(argv)` (as the console script calls
it, without a Python start-up and a fresh import of everything per call), or as a real process
where the process itself is what a test checks (its imports, its exit, `serve`)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Mapping
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from web.cli import main
from web.settings import FAST_INSECURE_HASHER

PPSYNC = str(Path(sys.executable).with_name("ppsync"))
SECRET = "s" * 40


@dataclass(frozen=True)
class Ran:
    """What a run left: as `subprocess.CompletedProcess` has it."""

    returncode: int
    stdout: str
    stderr: str


def environment(var: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment without the machine's database, Redis and media settings, over `var`."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "MEDIA_"))
    }
    env |= {"VAR_DIR": str(var), "SECRET_KEY": SECRET, "PASSWORD_HASHER": FAST_INSECURE_HASHER}
    return env | dict(extra or {})


def ppsync(var: Path, *args: str, stdin: str = "", env: Mapping[str, str] | None = None) -> Ran:
    """`ppsync ARGS` in this process, with `environment(var, env)` as its environment."""
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, environment(var, env), clear=True),
        mock.patch("sys.stdin", io.StringIO(stdin)),
        redirect_stdout(out),
        redirect_stderr(err),
    ):
        try:
            code = main(list(args))
        except SystemExit as stop:  # argparse: usage errors and --help
            code = stop.code if isinstance(stop.code, int) else 1
    return Ran(code, out.getvalue(), err.getvalue())


def ppsync_process(
    var: Path, *args: str, stdin: str = "", env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`ppsync ARGS` as operators run it: a process of its own."""
    return subprocess.run(
        [PPSYNC, *args],
        input=stdin,
        env=environment(var, env),
        capture_output=True,
        text=True,
        timeout=60,
    )
