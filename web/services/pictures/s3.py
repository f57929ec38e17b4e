"""Picture files as objects in an S3-compatible bucket (MEDIA_STORE=s3://BUCKET/PREFIX).

boto3: the reference S3 client, kept by AWS and spoken to by every S3-compatible store (R2, GCS's
S3 API, MinIO, Ceph, SeaweedFS); its client is thread-safe, so one client serves every worker
thread (sync handlers, the CLI) with its own pool of keep-alive connections. Credentials come
from boto3's usual chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or an instance role).

A PUT is atomic: an object appears whole or not at all, so no temporary names are needed. A
write that must not overwrite sends `If-None-Match: *`. Served variants carry their
Content-Type and a year's immutable Cache-Control, so a CDN in front of the bucket
(MEDIA_URL_BASE) serves them as the app would; masters live under masters/, which the bucket
policy keeps private (docs/multi-host.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from web.services.imaging import Processed
from web.services.imaging.types import EXT_MIME
from web.services.pictures.names import is_served
from web.services.pictures.storage import (
    CHUNK,
    Blob,
    Stored,
    StoreUnavailable,
    check_key,
    processed_files,
)
from web.settings import parse_bucket_url

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

IMMUTABLE = "public, max-age=31536000, immutable"
PARALLEL_PUTS = 8  # a version's variants are written side by side, then its master
_MISSING = {"404", "NoSuchKey", "NotFound"}
# A dead endpoint must answer within seconds: one retry, short connection and read waits.
CONNECT_TIMEOUT_S = 2
READ_TIMEOUT_S = 5
ATTEMPTS = 2  # the first and one retry

log = logging.getLogger(__name__)


def unavailable(error: BaseException) -> bool:
    """A sign that the bucket is away: no connection, a timeout, a server error (5xx)."""
    if isinstance(error, StoreUnavailable | BotoConnectionError | HTTPClientError):
        return True
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return status >= 500
    return False


@contextmanager
def reachable() -> Iterator[None]:
    """Raise StoreUnavailable for every sign that the bucket is away; other errors as they are."""
    try:
        yield
    except Exception as error:
        if unavailable(error) and not isinstance(error, StoreUnavailable):
            raise StoreUnavailable(f"the media bucket cannot be reached: {error}") from error
        raise


class S3Store:
    def __init__(self, client: S3Client, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""

    @classmethod
    def from_url(
        cls, url: str, *, endpoint_url: str | None = None, region: str | None = None
    ) -> S3Store:
        bucket, prefix = parse_bucket_url(url)
        return cls(make_client(endpoint_url=endpoint_url, region=region), bucket, prefix)

    def write_processed(self, user_id: int, name: str, processed: Processed) -> list[str]:
        return self.write(processed_files(user_id, name, processed))

    def write(self, files: list[tuple[str, bytes]], *, replace: bool = False) -> list[str]:
        """All but the last side by side, then the last (a version's master): once it exists,
        the whole set does. If a PUT fails, the objects this call created are removed."""
        if not files:
            return []
        *first, last = files
        created: list[str] = []
        try:
            with ThreadPoolExecutor(PARALLEL_PUTS) as pool:
                puts = [(key, pool.submit(self._put, key, data, replace)) for key, data in first]
                created.extend(key for key, put in puts if put.result())
            if self._put(*last, replace):
                created.append(last[0])
        except BaseException as error:
            self._remove_after(created, error)
            raise
        return [key for key, _ in files]

    def _remove_after(self, created: list[str], error: BaseException) -> None:
        """Undo a failed write; with the bucket away that fails too, and `ppsync media sweep`
        removes what is left (no version refers to it)."""
        try:
            self.remove(created)
        except Exception as cleanup:
            if not unavailable(cleanup):
                raise
            log.warning("could not remove %d objects after %s", len(created), error)

    def read(self, key: str) -> bytes:
        body = self._get(key)
        if body is None:
            raise FileNotFoundError(key)
        with body, reachable():
            data: bytes = body.read()
        return data

    def open(self, key: str) -> Blob | None:
        try:
            with reachable():
                answer = self.client.get_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as error:
            if _missing(error):
                return None
            raise
        return Blob(answer["ContentLength"], _chunks(answer["Body"]))

    def exists(self, key: str) -> bool:
        try:
            with reachable():
                self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as error:
            if _missing(error):
                return False
            raise
        return True

    def remove(self, keys: Iterable[str]) -> None:
        """DeleteObjects in batches of 1,000 (the API's limit); a missing key is not an error."""
        names = [self._name(key) for key in keys]
        for start in range(0, len(names), 1000):
            batch: list[ObjectIdentifierTypeDef] = [
                {"Key": name} for name in names[start : start + 1000]
            ]
            with reachable():
                answer = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )
            errors = [e for e in answer.get("Errors", []) if e.get("Code") not in _MISSING]
            if errors:
                raise OSError(f"could not delete {len(errors)} objects: {errors[0]}")

    def keys_under(self, prefix: str) -> Iterator[Stored]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._name(prefix) + "/"
        )
        with reachable():
            for page in pages:
                for item in page.get("Contents", []):
                    key = item["Key"][len(self.prefix) :]
                    yield Stored(key, item["LastModified"].timestamp(), item["Size"])

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _put(self, key: str, data: bytes, replace: bool) -> bool:
        """True when this PUT made the object; False when it was there (and not `replace`)."""
        extra: dict[str, Any] = {}
        mime = EXT_MIME.get(key.rsplit(".", 1)[-1])
        if mime:
            extra["ContentType"] = mime
        if is_served(key):
            extra["CacheControl"] = IMMUTABLE
        if not replace:
            extra["IfNoneMatch"] = "*"
        try:
            with reachable():
                self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data, **extra)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "PreconditionFailed":
                return False
            raise
        return True

    def _get(self, key: str) -> Any:
        try:
            with reachable():
                return self.client.get_object(Bucket=self.bucket, Key=self._name(key))["Body"]
        except ClientError as error:
            if _missing(error):
                return None
            raise


def make_client(*, endpoint_url: str | None = None, region: str | None = None) -> S3Client:
    """One client for the process. Checksums only where the API requires them (S3-compatible
    stores differ in the newer ones); path-style addressing for a custom endpoint."""
    config = Config(
        max_pool_connections=32,
        retries={"total_max_attempts": ATTEMPTS, "mode": "standard"},
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        s3={"addressing_style": "path"} if endpoint_url else None,
    )
    client: S3Client = boto3.client(
        "s3", endpoint_url=endpoint_url, region_name=region, config=config
    )
    return client


def _missing(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) in _MISSING


def _chunks(body: Any) -> Iterator[bytes]:
    with body:
        yield from body.iter_chunks(CHUNK)
