"""A picture site on the loopback for the fetcher's tests, that misbehaves on request.

Each path is one behaviour: `/photo.jpg` a picture, `/page.html` a page, `/missing` a 404,
`/chunked?bytes=N` and `/unframed?bytes=N` a body with no Content-Length (chunked, or ended
by closing), `/lying?claim=C&bytes=N` a Content-Length that is not the body's, `/drip` a byte a
second, `/gzip` a compressed picture, `/redirect/N` N redirects before the picture (N >= 1),
`/to?location=L` one redirect to L, `/real/ANY/NAME` the site's `picture` (PHOTO unless set:
a decodable photo for the app's tests). The site records the Host header and path of every
request (`seen`). `silent_listener` accepts connections and never answers; `certificates`
makes a CA and a certificate for some names with the openssl command.
"""

from __future__ import annotations

import gzip
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8 + b"\xff\xd9"


class PictureSite(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str) -> None:
        super().__init__((host, 0), _Handler)
        self.seen: list[tuple[str, str]] = []
        self.sni: list[str | None] = []
        self.picture = PHOTO

    @property
    def port(self) -> int:
        port: int = self.server_address[1]
        return port

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up (as the fetcher does on a refusal) is no error here."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: PictureSite

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.seen.append((self.headers.get("Host", ""), self.path))
        parts = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        name, _, rest = parts.path.lstrip("/").partition("/")
        route = getattr(self, "route_" + name.replace(".", "_"), None)
        with suppress(ConnectionError):
            if route is None:
                self.answer(404, "text/plain", b"no such page")
            else:
                route(rest, query)

    def answer(self, status: int, content_type: str, body: bytes, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for header, value in headers.items():
            self.send_header(header.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def route_photo_jpg(self, rest: str, query: dict[str, str]) -> None:
        self.answer(200, "image/jpeg", PHOTO)

    def route_real(self, rest: str, query: dict[str, str]) -> None:
        self.answer(200, "image/jpeg", self.server.picture)

    def route_page_html(self, rest: str, query: dict[str, str]) -> None:
        self.answer(200, "text/html; charset=utf-8", b"<!doctype html><title>Hi</title>")

    def route_missing(self, rest: str, query: dict[str, str]) -> None:
        self.answer(404, "text/html", b"<h1>Not found</h1>")

    def route_gzip(self, rest: str, query: dict[str, str]) -> None:
        self.answer(200, "image/jpeg", gzip.compress(PHOTO), Content_Encoding="gzip")

    def route_redirect(self, rest: str, query: dict[str, str]) -> None:
        left = int(rest or 0)
        location = "/photo.jpg" if left <= 1 else f"/redirect/{left - 1}"
        self.answer(302, "text/plain", b"", Location=location)

    def route_to(self, rest: str, query: dict[str, str]) -> None:
        self.answer(302, "text/plain", b"", Location=query["location"])

    def route_chunked(self, rest: str, query: dict[str, str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for _ in range(int(query["bytes"]) // 16384):
            self.wfile.write(b"4000\r\n" + b"\xab" * 16384 + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def route_unframed(self, rest: str, query: dict[str, str]) -> None:
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"\xab" * int(query["bytes"]))

    def route_lying(self, rest: str, query: dict[str, str]) -> None:
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", query["claim"])
        self.end_headers()
        self.wfile.write(b"\xab" * int(query["bytes"]))

    def route_drip(self, rest: str, query: dict[str, str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", "100")
        self.end_headers()
        for _ in range(100):
            self.wfile.write(b"\xab")
            self.wfile.flush()
            time.sleep(1)


@contextmanager
def serve(host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> Iterator[PictureSite]:
    site = PictureSite(host)
    if tls is not None:

        def note_name(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
            site.sni.append(name)

        tls.sni_callback = note_name
        site.socket = tls.wrap_socket(site.socket, server_side=True)
    thread = threading.Thread(target=site.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield site
    finally:
        site.shutdown()
        site.server_close()
        thread.join()


@contextmanager
def silent_listener() -> Iterator[int]:
    """A port whose connections the kernel accepts (the backlog) and nothing ever answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def certificates(folder: Path, names: list[str]) -> tuple[Path, Path, Path]:
    """(CA certificate, site certificate for names, site key), made with the openssl command."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ca, ca_key = folder / "ca.pem", folder / "ca.key"
    site, site_key, request = folder / "site.pem", folder / "site.key", folder / "site.csr"
    extensions = folder / "site.ext"
    extensions.write_text(
        "basicConstraints=CA:FALSE\nauthorityKeyIdentifier=keyid\n"
        f"subjectAltName={','.join('DNS:' + name for name in names)}\n"
    )
    openssl = ["openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "1"]
    run = ["-subj", "/CN=fetch test CA", "-addext", "keyUsage=critical,keyCertSign"]
    subprocess.run([*openssl, *run], check=True, capture_output=True)
    subprocess.run(
        ["openssl", "req", *ec, "-keyout", site_key, "-out", request, "-subj", f"/CN={names[0]}"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["openssl", "x509", "-req", "-in", request, "-CA", ca, "-CAkey", ca_key,
         "-CAcreateserial", "-out", site, "-days", "1", "-extfile", extensions],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return ca, site, site_key
