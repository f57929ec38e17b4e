"""`ppsync media copy --to s3://BUCKET/PREFIX`: the disk store into a bucket (the command
in this process: tests/cli.py), against a real S3 server (tests/seaweed.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import Ran, ppsync
from tests.factories import jpeg, stored_keys
from tests.seaweed import REGION, S3Server
from web.services.imaging import process
from web.services.pictures.s3 import S3Store
from web.services.pictures.storage import TEMP_PREFIX, DiskStore


def copy(var: Path, server: S3Server, url: str) -> Ran:
    return ppsync(var, "media", "copy", "--to", url, env=server.env())


@pytest.fixture
def disk(tmp_path: Path) -> DiskStore:
    store = DiskStore(tmp_path / "media")
    store.write_processed(3, "a" * 32, process(jpeg("red")))
    return store


@pytest.fixture
def bucket(s3_env: S3Server) -> S3Store:
    s3_server = s3_env
    return S3Store.from_url(
        f"s3://{s3_server.new_bucket()}/site", endpoint_url=s3_server.endpoint, region=REGION
    )


def everything(store: DiskStore | S3Store) -> dict[str, int]:
    return {
        item.key: item.size
        for folder in ("avatars", "masters")
        for item in store.keys_under(folder)
    }


def url_of(bucket: S3Store) -> str:
    return f"s3://{bucket.bucket}/site"


def test_copy_puts_every_file_in_the_bucket_with_a_progress_line(
    tmp_path: Path, disk: DiskStore, bucket: S3Store, s3_server: S3Server
) -> None:
    result = copy(tmp_path, s3_server, url_of(bucket))
    assert result.returncode == 0, result.stderr
    total = len(everything(disk))
    assert f"{total}/{total} files: {total} copied, 0 already there" in result.stderr
    assert result.stdout.strip().endswith(f"to {url_of(bucket)}")
    assert everything(bucket) == everything(disk)
    key = stored_keys(disk, "masters")[0]
    assert bucket.read(key) == disk.read(key)


def test_copy_again_skips_what_is_there_and_copies_only_the_stragglers(
    tmp_path: Path, disk: DiskStore, bucket: S3Store, s3_server: S3Server
) -> None:
    copy(tmp_path, s3_server, url_of(bucket))
    before = len(everything(disk))
    disk.write_processed(3, "b" * 32, process(jpeg("blue")))  # uploaded meanwhile
    added = len(everything(disk)) - before
    result = copy(tmp_path, s3_server, url_of(bucket))
    assert result.returncode == 0, result.stderr
    assert f"{added} copied, {before} already there" in result.stdout
    assert everything(bucket) == everything(disk)


def test_copy_leaves_crashed_uploads_temporary_files_behind(
    tmp_path: Path, disk: DiskStore, bucket: S3Store, s3_server: S3Server
) -> None:
    leftover = disk.root / "avatars" / "3" / f"{TEMP_PREFIX}half.webp"
    leftover.write_bytes(b"half")
    copy(tmp_path, s3_server, url_of(bucket))
    assert f"avatars/3/{leftover.name}" not in everything(bucket)


def test_copy_to_a_url_that_is_not_a_bucket_is_refused(
    tmp_path: Path, disk: DiskStore, s3_server: S3Server
) -> None:
    result = copy(tmp_path, s3_server, "/srv/elsewhere")
    assert result.returncode == 2
    assert "s3://BUCKET/PREFIX" in result.stderr
