"""The names of a version's files and the URLs they are served at: the scheme, written once.

A version's files share one name of 32 hex digits (`new_name`, one per upload). Its variants
are stored as "avatars/<member>/<name>-<px>.<ext>" ("<name>-<px>.anim.webp" when animated) and
served at a base + that key (`MediaUrls`: the app's "/media/", or MEDIA_URL_BASE, a CDN); its
private master is "masters/<member>/<name>.<ext>", never served.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from typing import Any

MEDIA_URL = "/media/"
FOLDERS = ("avatars", "masters")  # every key lives under one of these
VARIANT_FILE = re.compile(
    r"(?P<name>[0-9a-f]{32})-(?P<px>\d{2,3})(?P<anim>\.anim)?\.(?P<ext>webp|jpg|png|avif)"
)
AVIF_META = "avif"  # metadata: the sizes that have an AVIF copy; absent: none made (yet)
_NAME = re.compile(r"[0-9a-f]{32}")
_EXT = re.compile(r"[a-z0-9]{1,5}")


def new_name() -> str:
    """A fresh name for one upload's files."""
    return secrets.token_hex(16)


def files_path(user_id: int, name: str) -> str:
    """What `profile_pictures.file_path` records: the variants' common prefix."""
    return f"avatars/{int(user_id)}/{name}"


def is_served(key: str) -> bool:
    return key.startswith("avatars/")


def variant_key(user_id: int, name: str, px: int, ext: str, *, animated: bool = False) -> str:
    _check(name, ext)
    anim = ".anim" if animated else ""
    return f"{files_path(user_id, name)}-{int(px)}{anim}.{ext}"


def master_key(user_id: int, name: str, ext: str) -> str:
    """Where the private master lives: never under avatars/, so never served."""
    _check(name, ext)
    return f"masters/{int(user_id)}/{name}.{ext}"


def owner_of(key: str) -> tuple[int, str] | None:
    """(member, name) of any key of the scheme (a temporary leftover's too), else None."""
    parts = key.split("/")
    if len(parts) != 3 or parts[0] not in ("avatars", "masters") or not parts[1].isdigit():
        return None
    return int(parts[1]), parts[2][:32]


@dataclass(frozen=True, slots=True)
class PictureRef:
    """A version's served files, as pages and the API point at them."""

    user_id: int
    name: str
    fallback_ext: str  # "jpg", or "png" when the picture has transparency
    placeholder: str  # "#rrggbb", the average colour
    preview: str  # a data: URI the page paints until the picture arrives (preview_uri)
    animated: bool = False  # plays "<name>-<px>.anim.webp" where the size has one
    avif: tuple[int, ...] = ()  # the sizes with a "<name>-<px>.avif", smaller than the WebP

    def key(self, px: int, ext: str | None = None, *, animated: bool = False) -> str:
        """The variant at px: WebP, the fallback (ext None) or the animated WebP."""
        ext = "webp" if animated else ext or self.fallback_ext
        return variant_key(self.user_id, self.name, px, ext, animated=animated)


@dataclass(frozen=True, slots=True)
class MediaUrls:
    """Where served variants are fetched: the app's own /media/, or MEDIA_URL_BASE (a CDN or
    the bucket's public URL, ending in "/"). Made once per app from its settings."""

    base: str = MEDIA_URL

    def __call__(
        self, ref: PictureRef, px: int, ext: str | None = None, *, animated: bool = False
    ) -> str:
        return self.base + ref.key(px, ext, animated=animated)


def picture_ref(
    user_id: int, name: str, meta: dict[str, Any], preview: str, *, animate: bool = True
) -> PictureRef:
    return PictureRef(
        user_id=user_id,
        name=name,
        fallback_ext="png" if meta.get("has_alpha") else "jpg",
        placeholder=str(meta.get("placeholder", "#888888")),
        preview=preview,
        animated=animate and bool(meta.get("animated")),
        avif=tuple(int(px) for px in meta.get(AVIF_META) or ()),
    )


def preview_uri(webp: bytes) -> str:
    """What profile_pictures.preview holds for a version's tiny WebP (imaging's preview)."""
    return "data:image/webp;base64," + base64.b64encode(webp).decode("ascii")


def _check(name: str, ext: str) -> None:
    if not _NAME.fullmatch(name) or not _EXT.fullmatch(ext):
        raise ValueError(f"not a file name and extension: {name!r}, {ext!r}")
