"""The operator's check of the picture files: every kept version has all its files, each decodes.

Files are read through the store, so a bucket's objects are checked as a disk's files are.
A kept version is one not purged (deleted ones stay restorable for the retention window). Its
files are the variants its metadata lists and its private master. `repair` re-derives missing
or undecodable variants from the master, through the same pipeline an upload and a re-crop use.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from PIL import Image
from sqlmodel import Session, col, select

from db.models import ProfilePicture
from web.services import imaging
from web.services.imaging import cage
from web.services.pictures.names import master_key, variant_key
from web.services.pictures.retention import orphan_keys
from web.services.pictures.storage import MediaStore

VariantId = tuple[int, str, bool]  # px, ext, animated


@dataclass(frozen=True, slots=True)
class Problem:
    key: str
    user_id: int
    version: int
    reason: str  # "missing", or why the file does not decode


@dataclass(slots=True)
class Report:
    versions: int = 0
    files: int = 0
    problems: list[Problem] = field(default_factory=list)  # still there after any repair
    orphans: list[str] = field(default_factory=list)
    repaired: list[Problem] = field(default_factory=list)
    unrepaired: list[tuple[Problem, str]] = field(default_factory=list)  # and why not

    @property
    def ok(self) -> bool:
        return not self.problems

    def count(self, missing: bool) -> int:
        return sum((p.reason == "missing") == missing for p in self.problems)


def check(session: Session, store: MediaStore, *, repair: bool = False) -> Report:
    report = Report()
    kept = session.exec(
        select(ProfilePicture)
        .where(col(ProfilePicture.purged_at).is_(None))
        .order_by(col(ProfilePicture.user_id), col(ProfilePicture.version))
    )
    for picture in kept:
        report.versions += 1
        expected = _expected(store, picture)
        report.files += len(expected)
        problems = {key: p for key in expected if (p := _problem(store, picture, key, expected))}
        if problems and repair:
            _repair(store, picture, expected, problems, report)
        report.problems.extend(problems.values())
    report.orphans = orphan_keys(session, store)
    return report


def _expected(store: MediaStore, picture: ProfilePicture) -> dict[str, VariantId | None]:
    """Each file key of a version, with its variant's identity (None for the master)."""
    meta: dict[str, Any] = picture.meta
    files: dict[str, VariantId | None] = {}
    for v in meta.get("variants", []):
        variant = (int(v["px"]), str(v["ext"]), bool(v.get("animated")))
        files[_variant_key(store, picture, variant)] = variant
    ext = str(meta.get("master", {}).get("ext", "jpg"))
    files[master_key(picture.user_id, picture.filename, ext)] = None
    return files


def _variant_key(store: MediaStore, picture: ProfilePicture, variant: VariantId) -> str:
    px, ext, animated = variant
    return variant_key(picture.user_id, picture.filename, px, ext, animated=animated)


def _problem(
    store: MediaStore, picture: ProfilePicture, key: str, expected: dict[str, VariantId | None]
) -> Problem | None:
    version = picture.version
    try:
        data = store.read(key)
    except FileNotFoundError:
        return Problem(key, picture.user_id, version, "missing")
    variant = expected[key]
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()  # frame 0 only: enough to catch a truncated or damaged file
            size = im.size
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        return Problem(key, picture.user_id, version, f"does not decode: {error}")
    if variant is not None and size != (variant[0], variant[0]):
        return Problem(key, picture.user_id, version, f"is {size[0]}x{size[1]}, not square")
    return None


def _repair(
    store: MediaStore,
    picture: ProfilePicture,
    expected: dict[str, VariantId | None],
    problems: dict[str, Problem],
    report: Report,
) -> None:
    """Re-derive the broken variants from the master; what cannot be mended stays a problem."""
    master_key = next(key for key, variant in expected.items() if variant is None)
    if master_key in problems:
        for problem in list(problems.values()):
            report.unrepaired.append((problem, "the master is missing or damaged"))
        return
    master = store.read(master_key)
    crop = crop_of(picture, master)
    if crop is None:
        for problem in problems.values():
            report.unrepaired.append((problem, "the crop of this version is not recorded"))
        return
    made = {(v.px, v.ext, v.animated): v.data for v in cage.recrop(master, crop=crop).variants}
    for key in list(problems):
        variant = expected[key]
        if variant is None or variant not in made:
            report.unrepaired.append((problems[key], "the pipeline no longer makes this variant"))
            continue
        store.write([(key, made[variant])], replace=True)
        report.repaired.append(problems.pop(key))


def crop_of(
    picture: ProfilePicture, master: bytes, limits: imaging.Limits = imaging.DEFAULT_LIMITS
) -> imaging.Crop | None:
    """The version's crop: recorded in its metadata, or (for versions from before it was) the
    centre crop when the content digest the files were named by proves it (found in the cage
    under `limits`)."""
    recorded = picture.meta.get("crop")
    if recorded:
        x, y, size = (float(n) for n in recorded)
        return imaging.Crop(x, y, size)
    centre = cage.recrop(master, crop=None, limits=limits)
    return centre.crop if centre.digest == picture.filename else None
