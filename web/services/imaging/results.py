"""The pipeline's result put together: the master kept as it came (a recrop's), the digest of
the master and the crop, and the Processed value every caller receives."""

from __future__ import annotations

import hashlib

from PIL import Image

from web.services.imaging import encode as enc
from web.services.imaging.header import Header
from web.services.imaging.source import Source
from web.services.imaging.types import Master, Processed, Square, Variant

_EXT = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "HEIF": "heic", "AVIF": "avif"}
MIME_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "HEIF": "image/heic",
    "AVIF": "image/avif",
}


def kept_master(data: bytes, header: Header) -> Master:
    fmt = header.format
    animated = header.frames > 1
    # bytes(): in a cage worker, data is a mapping of the upload (handover.taken), not kept.
    return Master(bytes(data), _EXT[fmt], MIME_TYPES[fmt], header.width, header.height, animated)


def processed(
    source: Source,
    master: Master,
    alpha: bool,
    images: dict[int, Image.Image],
    variants: list[Variant],
    edits: tuple[str, ...] = (),
) -> Processed:
    animated = any(v.animated for v in variants)
    largest = images[max(images)]
    digest = hashlib.sha256(master.data)
    digest.update(b"\0crop:" + source.token.encode())
    if edits:  # the same master and crop, edited, is another picture
        digest.update(b"\0edits:" + ",".join(edits).encode())
    return Processed(
        digest=digest.hexdigest()[:32],
        source_format=source.header.format,
        source_width=source.size[0],
        source_height=source.size[1],
        orientation_applied=source.orientation,
        animated=animated,
        has_alpha=alpha,
        placeholder=enc.placeholder(images[min(images)]),
        preview=enc.preview(images[min(images)], alpha),
        master=master,
        variants=tuple(sorted(variants, key=lambda v: (v.px, v.animated, v.ext))),
        crop=source.crop,
        crop_source=source.crop_source,
        edits=edits,
        square=None if animated else Square(largest.mode, largest.width, largest.tobytes()),
    )
