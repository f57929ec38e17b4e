"""An upload's file stays in memory while Litestar parses the form
(web/overrides/upload_memory.py)."""

from __future__ import annotations

from dataclasses import replace

from litestar.datastructures import UploadFile

from web.app import create_app
from web.plumbing.body_limit import MULTIPART_ROOM
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
    limit = UploadFile.__init__.__defaults__[-1]  # type: ignore[index]
    assert spools_to_disk(limit + 1)
