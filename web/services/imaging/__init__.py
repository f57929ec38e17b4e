"""The avatar image pipeline: upload bytes in, a cleaned master and square variants out.

Pure functions (no HTTP, database or files), safe to run in a worker thread. In order: size cap,
format from the magic bytes, size and frame limits from the header, one Pillow plugin, decode
at the JPEG draft scale, EXIF orientation, 8-bit sRGB, a square crop (the member's, else one
on the largest face in a still picture, else the centre) resized in one chain from
large to small, and fresh encodes of the pixels only. The pieces: pipeline (the entry points),
header (isobmff for HEIF/AVIF), decode, source (frame 0 and its square), faces, still and
animation, encode, results, types; the optional edits (enhance, background) are edits,
retouch, enhance and background. Callers import the names below from here.
"""

from __future__ import annotations

from web.services.imaging.edits import NO_EDITS, Edits, describe, edits_from, edits_of
from web.services.imaging.header import sniff_format
from web.services.imaging.pipeline import (
    DEFAULT_LIMITS,
    crop_choices,
    preview,
    process,
    recrop,
    rotated,
    suggest_crop,
)
from web.services.imaging.results import MIME_TYPES
from web.services.imaging.types import (
    POSITIONS,
    RECOMMENDED_MIN_PX,
    SIZES,
    VARIANT_PX,
    Ceilings,
    Crop,
    CropChoices,
    ImageRejected,
    Limits,
    Master,
    PictureWarning,
    Processed,
    Suggestion,
    Variant,
    centre_crop,
    positioned,
    positions_for,
    rejected,
)

__all__ = [
    "DEFAULT_LIMITS",
    "MIME_TYPES",
    "NO_EDITS",
    "POSITIONS",
    "RECOMMENDED_MIN_PX",
    "SIZES",
    "VARIANT_PX",
    "Ceilings",
    "Crop",
    "Edits",
    "CropChoices",
    "ImageRejected",
    "Limits",
    "Master",
    "PictureWarning",
    "Processed",
    "Suggestion",
    "Variant",
    "centre_crop",
    "describe",
    "edits_from",
    "edits_of",
    "preview",
    "crop_choices",
    "positioned",
    "positions_for",
    "process",
    "recrop",
    "rejected",
    "rotated",
    "sniff_format",
    "suggest_crop",
]
