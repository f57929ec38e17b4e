"""The vendored htmx is exactly what SHA256SUMS says, and the pages load that version."""

from __future__ import annotations

import hashlib
from pathlib import Path

from web.settings import HTMX_VERSION

VENDOR = Path(__file__).resolve().parents[2] / "static" / "vendor"


def test_every_vendored_file_matches_its_checksum() -> None:
    lines = (VENDOR / "SHA256SUMS").read_text().splitlines()
    assert lines
    for line in lines:
        digest, name = line.split()
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


def test_checksums_cover_the_version_the_pages_load_and_its_licence() -> None:
    names = {line.split()[1] for line in (VENDOR / "SHA256SUMS").read_text().splitlines()}
    assert names == {f"htmx-{HTMX_VERSION}.min.js", f"hx-sse-{HTMX_VERSION}.min.js", "LICENSE"}
