"""Static asset URLs carry a content hash, so they can be cached for a year."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path


class AssetUrls:
    def __init__(self, root: Path) -> None:
        self.root = root

    def url(self, name: str) -> str:
        return f"/static/{name}?v={self.digest(name)}"

    @cache  # noqa: B019  (one instance per app; files do not change while it runs)
    def digest(self, name: str) -> str:
        return hashlib.sha256((self.root / name).read_bytes()).hexdigest()[:12]
