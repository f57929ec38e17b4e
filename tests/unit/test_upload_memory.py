"""An upload's file stays in memory while Litestar parses the form (web/body_limit.py)."""

from __future__ import annotations

import inspect
from dataclasses import replace

import pytest
from litestar.datastructures import UploadFile

from web.app import create_app
from web.body_limit import MULTIPART_ROOM
from web.settings import Settings

MIB = 2**20


def spools_to_disk(size: int) -> bool:
    """Whether an UploadFile made as Litestar's form parser makes it rolls size bytes to disk."""
    upload = UploadFile(content_type="image/jpeg", filename="me.jpg")
    with upload.file:
        upload.file.write(b"\xff" * size)
        return upload.rolled_to_disk


def test_an_upload_of_several_mib_is_parsed_in_memory(settings: Settings) -> None:
    create_app(replace(settings, max_upload_bytes=10 * MIB))
    assert not spools_to_disk(10 * MIB + MULTIPART_ROOM)


def test_past_the_largest_upload_limit_it_spools_to_disk(settings: Settings) -> None:
    create_app(replace(settings, max_upload_bytes=2 * MIB))
    limit = inspect.signature(UploadFile).parameters["max_spool_size"].default
    assert spools_to_disk(limit + 1)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def written_in_chunks(data: bytes, size: int) -> UploadFile:
    upload = UploadFile(content_type="image/jpeg", filename="me.jpg")
    for start in range(0, len(data), size):
        await upload.write(data[start : start + size])
    await upload.seek(0)
    return upload


@pytest.mark.anyio
async def test_chunks_written_are_read_back_whole(settings: Settings) -> None:
    create_app(replace(settings, max_upload_bytes=2 * MIB))
    data = bytes(range(256)) * 4099
    upload = await written_in_chunks(data, 65536)
    assert not upload.rolled_to_disk
    assert await upload.read(10) == data[:10]
    assert await upload.read() == data[10:]
    await upload.seek(0)
    assert upload.file.read(len(data) + 1) == data
    await upload.close()


@pytest.mark.anyio
async def test_chunks_past_the_limit_roll_over_to_disk_intact(settings: Settings) -> None:
    create_app(replace(settings, max_upload_bytes=2 * MIB))
    data = bytes(range(256)) * (2 * MIB // 256 + MULTIPART_ROOM)
    upload = await written_in_chunks(data, 65536)
    assert upload.rolled_to_disk
    assert await upload.read() == data
    await upload.close()
