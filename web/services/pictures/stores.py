"""Which picture store the settings name: the one place that chooses (disk or S3)."""

from __future__ import annotations

from web.services.pictures.storage import DiskStore, MediaStore
from web.settings import Settings


def media_store(settings: Settings) -> MediaStore:
    if settings.media_store is None:
        return DiskStore(settings.media_root)
    from web.services.pictures.s3 import S3Store  # boto3 loads only when it is used

    return S3Store.from_url(
        settings.media_store, endpoint_url=settings.aws_endpoint_url, region=settings.aws_region
    )
