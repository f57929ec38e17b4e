"""Starting bench/sse_fanout.py's servers (bench/sse_servers.py says what each is) from the
bench's own process: `ppsync serve`, or the probed copy of it, seeded with the writer, and the
bare broadcaster. Kept apart from bench/sse_servers.py, which runs in the servers' processes and
so must not load the e2e fixtures (Playwright) that `Server` comes with.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.sse_clients import free_port, get
from tests.e2e.conftest import PPSYNC, START_TIMEOUT_S, Server
from tests.processes import stop_process

SERVER = Path(__file__).with_name("sse_servers.py")


class BenchServer(Server):
    """`ppsync serve` (or the probed copy of it) with one member who has one picture and an API
    token: the writer's. Production settings, the per-address stream cap lifted (every stream
    comes from 127.0.0.1)."""

    def __init__(self, var: Path, variant: str) -> None:
        super().__init__(var, {"EVENTS_PER_CLIENT": "1000000"}, test_only=False)
        self.probed = variant != "serve"
        self.queued = variant.endswith("-queued")
        self.member = 0
        self.bearer = ""
        self.filename = ""
        self.updated_at = ""

    def _serve(self) -> bool:
        script = [sys.executable, str(SERVER), "--port", str(self.port)]
        script += ["--queued"] if self.queued else []
        command = script if self.probed else [PPSYNC, "serve", "--port", str(self.port)]
        with (self.var / "server.log").open("ab") as log:
            self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):  # noqa: S310
                    return True
            except OSError:
                if self.process.poll() is not None:
                    return False
                time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log()}")

    def seed(self) -> None:
        """The writer: a member, a token, a picture uploaded through the API (not timed)."""
        self.member = self.add_member("writer", "Writer")
        self.bearer = self.token(self.member, "bench")
        body, boundary = multipart(self.member, jpeg())
        answer = urllib.request.Request(  # noqa: S310  (127.0.0.1)
            f"{self.url}/api/profile/upload-picture",
            data=body,
            headers={
                "Authorization": f"Bearer {self.bearer}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )
        with urllib.request.urlopen(answer, timeout=60) as response:  # noqa: S310
            state = json.loads(response.read())
        self.filename, self.updated_at = state["filename"], state["updatedAt"]


def jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 40, 40)).save(out, "JPEG")
    return out.getvalue()


def multipart(member: int, picture: bytes) -> tuple[bytes, str]:
    boundary = "benchboundary7d1f"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="userId"\r\n\r\n{member}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="profilePicture"; '
        f'filename="me.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
    )
    return head.encode() + picture + f"\r\n--{boundary}--\r\n".encode(), boundary


class BareServer:
    """The bare broadcaster (`direct`: writing to waiting streams itself)."""

    def __init__(self, var: Path, direct: bool) -> None:
        self.var = var
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.direct = direct

    def start(self) -> BareServer:
        command = [sys.executable, str(SERVER), "--bare", "--port", str(self.port)]
        command += ["--direct"] if self.direct else []
        with (self.var / "server.log").open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                get(self.port, "/healthz")
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError((self.var / "server.log").read_text())

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, wait=15)
