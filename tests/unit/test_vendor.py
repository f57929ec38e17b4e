"""The vendored files (htmx; Swagger UI, the API reference's renderer) are exactly what each
folder's SHA256SUMS says, and the pages load the versions pinned in the code."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from web.api.reference import SWAGGER_UI_VERSION
from web.settings import HTMX_VERSION

VENDOR = Path(__file__).resolve().parents[2] / "static" / "vendor"
PINNED = {
    VENDOR: {f"htmx-{HTMX_VERSION}.min.js", f"hx-sse-{HTMX_VERSION}.min.js", "LICENSE"},
    VENDOR / "swagger-ui": {
        f"swagger-ui-bundle-{SWAGGER_UI_VERSION}.js",
        f"swagger-ui-{SWAGGER_UI_VERSION}.css",
        "LICENSE",
        "NOTICE",
    },
}


@pytest.mark.parametrize("folder", list(PINNED), ids=lambda f: f.name)
def test_every_vendored_file_matches_its_checksum(folder: Path) -> None:
    lines = (folder / "SHA256SUMS").read_text().splitlines()
    assert lines
    for line in lines:
        digest, name = line.split()
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize("folder", list(PINNED), ids=lambda f: f.name)
def test_checksums_cover_the_version_the_pages_load_and_its_licence(folder: Path) -> None:
    names = {line.split()[1] for line in (folder / "SHA256SUMS").read_text().splitlines()}
    assert names == PINNED[folder]


def test_nothing_is_vendored_without_a_checksum() -> None:
    served = {p for p in VENDOR.rglob("*") if p.is_file() and p.suffix in {".js", ".css"}}
    listed = {folder / name for folder, names in PINNED.items() for name in names}
    assert served <= listed
