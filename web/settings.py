"""Settings read from the environment; nothing here runs at import time."""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from web.services.imaging.types import Limits

HTMX_VERSION = "4.0.1"
MIB = 1024 * 1024
# PASSWORD_HASHER's values (web/services/accounts/passwords.py); production refuses the fast one.
ARGON2 = "argon2"
FAST_INSECURE_HASHER = "fast-insecure-test-only"
PASSWORD_HASHERS = (ARGON2, FAST_INSECURE_HASHER)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    media_root: Path
    var_dir: Path
    secret_key: str
    redis_url: str | None = None
    redis_prefix: str = "ppsync"
    max_upload_bytes: int = 10 * MIB
    clamd_socket: str | None = None
    production: bool = False
    uploads_per_minute: int = 10
    # The cropper's suggestions (a small copy the browser makes): an allowance of their own,
    # and a body cap far under the upload's (static/js/downsize.js keeps the copy under it).
    suggestions_per_minute: int = 30
    suggestion_max_bytes: int = 256 * 1024
    # Edit previews (POST /profile/picture/preview-edits) a member may ask for per minute, and
    # the bytes of the small copy each sends (docs/editing.md).
    previews_per_minute: int = 30
    preview_max_bytes: int = 256 * 1024
    media_store: str | None = None  # s3://BUCKET/PREFIX; None: disk under media_root
    media_url_base: str | None = None  # where variants are public (a CDN), else /media/
    aws_endpoint_url: str | None = None
    aws_region: str | None = None
    # Open /events streams per client address (per process); a large value lifts it.
    events_per_client: int = 32
    # Members one /events stream may follow (web/live/subscriptions.py); the viewer is beside.
    events_members_per_stream: int = 500
    # Proxies whose X-Forwarded-For names the client (web/plumbing/client.py); none by default.
    trusted_proxies: tuple[Network, ...] = ()
    # Seconds a request's headers may take to arrive, and the bytes they may hold
    # (web/overrides/server_limits.py).
    header_timeout: int = 10
    max_header_bytes: int = 64 * 1024
    # Open connections per process; None: from the open-file limit (web/plumbing/limits.py).
    max_connections: int | None = None
    # The decode cage's ceilings (web/services/imaging/cage.py); workers 0: one a core.
    image_memory_mb: int = 512
    image_cpu_seconds: int = 10
    image_deadline_seconds: int = 20
    image_workers: int = 0
    # Networks a pasted link may reach besides the public internet (web/services/fetch/): none
    # by default; an intranet's picture server, or loopback in tests. Seconds a fetch may take.
    fetch_allowed_networks: tuple[Network, ...] = ()
    fetch_deadline_seconds: int = 10
    # AVIF copies of each new version after the upload's answer (web/followups.py): 0.3-0.6 s of
    # a core a picture; off on a host short of CPU, whose pictures then serve WebP alone.
    avif_copies: bool = True

    # How passwords are hashed: Argon2id, or (tests only) a fast insecure hash.
    password_hasher: str = ARGON2

    def __post_init__(self) -> None:
        # Here, not in from_env, so no way of making production settings lets it through.
        if self.production and self.password_hasher != ARGON2:
            hasher = self.password_hasher
            raise SettingsError(f"PASSWORD_HASHER={hasher} is for tests; production refuses it")

    def image_limits(self) -> Limits:
        """What every decode of an upload runs under: the size cap and the cage's ceilings."""
        # Imported here: the imaging package loads Pillow and OpenCV, which `ppsync --help` and
        # most commands never need.
        from web.services.imaging.types import Ceilings, Limits

        ceilings = Ceilings(
            memory_mb=self.image_memory_mb,
            cpu_seconds=self.image_cpu_seconds,
            deadline_seconds=self.image_deadline_seconds,
            workers=self.image_workers,
        )
        return Limits(max_bytes=self.max_upload_bytes, ceilings=ceilings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings the environment gives (README's table); each variable unset or empty
        leaves its field's default above."""
        env = os.environ if env is None else env
        var_dir = Path(env.get("VAR_DIR", "var"))
        production = env.get("APP_ENV", "development") == "production"
        return cls(
            database_url=env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'app.db'}",
            media_root=Path(env.get("MEDIA_ROOT") or var_dir / "media"),
            var_dir=var_dir,
            secret_key=_secret_key(env, var_dir, production),
            production=production,
            **_set_in(env),
        )


def _set_in(env: Mapping[str, str]) -> dict[str, Any]:
    """The fields of _FROM_ENV that env sets, read and checked in the table's order."""
    read = {field: parse(env, name) for field, name, parse in _FROM_ENV}
    return {field: value for field, value in read.items() if value is not None}


# Each reader below returns None when its variable is unset or empty: the field keeps its default.
def _text(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name) or None


def _positive_int(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name)
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be positive, got {value}")
    return value


def _workers(env: Mapping[str, str], name: str) -> int:
    """Unset: one a core, counted now, as README says. The field's default, 0, means the same
    to the cage (web/services/imaging/cage.py); Settings made in code keep it."""
    return _positive_int(env, name) or os.cpu_count() or 1


def _region(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name) or env.get("AWS_DEFAULT_REGION") or None


def parse_bucket_url(url: str) -> tuple[str, str]:
    """(bucket, prefix) of s3://BUCKET/PREFIX (the prefix may be empty); ValueError if not one."""
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    prefix = prefix.strip("/")
    parts = prefix.split("/") if prefix else []
    if not url.startswith("s3://") or len(bucket) < 3 or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"not s3://BUCKET/PREFIX (a bucket of 3 characters or more): {url!r}")
    return bucket, prefix


def _media_store(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        parse_bucket_url(raw)
    except ValueError as error:
        raise SettingsError(f"{name}: {error}") from None
    return raw


def _url_base(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    url = urlsplit(raw)
    if url.scheme not in ("http", "https") or not url.netloc:
        raise SettingsError(f"{name} must be an http(s) URL, got {raw!r}")
    return raw.rstrip("/") + "/"


def _networks(env: Mapping[str, str], name: str) -> tuple[Network, ...]:
    """A comma-separated list of addresses or CIDR blocks ("10.0.0.0/8, ::1")."""
    networks = []
    for item in filter(None, (part.strip() for part in env.get(name, "").split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise SettingsError(f"{name}: {item!r} is not an address or CIDR block") from None
    return tuple(networks)


def _on_off(env: Mapping[str, str], name: str) -> bool | None:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return None
    if raw not in ("on", "off"):
        raise SettingsError(f"{name} must be on or off")
    return raw == "on"


def _password_hasher(env: Mapping[str, str], name: str) -> str | None:
    hasher = env.get(name)
    if hasher and hasher not in PASSWORD_HASHERS:
        raise SettingsError(f"{name} must be one of {', '.join(PASSWORD_HASHERS)}")
    return hasher or None


# (field, environment variable, reader): every setting with a default, in the order they are
# read and checked. The variables' names are the operators' interface: README lists them.
_FROM_ENV: tuple[tuple[str, str, Callable[[Mapping[str, str], str], object]], ...] = (
    ("redis_url", "REDIS_URL", _text),
    ("redis_prefix", "REDIS_PREFIX", _text),
    ("max_upload_bytes", "MAX_UPLOAD_BYTES", _positive_int),
    ("clamd_socket", "CLAMD_SOCKET", _text),
    ("uploads_per_minute", "UPLOADS_PER_MINUTE", _positive_int),
    ("suggestions_per_minute", "SUGGESTIONS_PER_MINUTE", _positive_int),
    ("suggestion_max_bytes", "SUGGESTION_MAX_BYTES", _positive_int),
    ("previews_per_minute", "PREVIEWS_PER_MINUTE", _positive_int),
    ("preview_max_bytes", "PREVIEW_MAX_BYTES", _positive_int),
    ("media_store", "MEDIA_STORE", _media_store),
    ("media_url_base", "MEDIA_URL_BASE", _url_base),
    ("aws_endpoint_url", "AWS_ENDPOINT_URL", _text),
    ("aws_region", "AWS_REGION", _region),
    ("events_per_client", "EVENTS_PER_CLIENT", _positive_int),
    ("events_members_per_stream", "EVENTS_MEMBERS_PER_STREAM", _positive_int),
    ("trusted_proxies", "TRUSTED_PROXIES", _networks),
    ("header_timeout", "HEADER_TIMEOUT", _positive_int),
    ("max_header_bytes", "MAX_HEADER_BYTES", _positive_int),
    ("max_connections", "MAX_CONNECTIONS", _positive_int),
    ("image_memory_mb", "IMAGE_MEMORY_MB", _positive_int),
    ("image_cpu_seconds", "IMAGE_CPU_SECONDS", _positive_int),
    ("image_deadline_seconds", "IMAGE_DEADLINE_SECONDS", _positive_int),
    ("image_workers", "IMAGE_WORKERS", _workers),
    ("fetch_allowed_networks", "FETCH_ALLOWED_NETWORKS", _networks),
    ("fetch_deadline_seconds", "FETCH_DEADLINE_SECONDS", _positive_int),
    ("avif_copies", "AVIF_COPIES", _on_off),
    ("password_hasher", "PASSWORD_HASHER", _password_hasher),
)


def _secret_key(env: Mapping[str, str], var_dir: Path, production: bool) -> str:
    key = env.get("SECRET_KEY", "")
    if key:
        if len(key) < 32:
            raise SettingsError("SECRET_KEY must be at least 32 characters")
        return key
    if production:
        raise SettingsError("SECRET_KEY is required when APP_ENV=production")
    # Development only: one random key kept under var/ so sessions survive restarts.
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # only its owner may list it
        _create_private(path, secrets.token_urlsafe(48))
    return path.read_text().strip()


def _create_private(path: Path, text: str) -> None:
    """Write a new file that is 0600 from its first byte, whole or not at all: written under a
    temporary name made with O_EXCL, then linked to its name, which fails if another process
    made it meanwhile (theirs is kept, so every process reads the same key)."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)
