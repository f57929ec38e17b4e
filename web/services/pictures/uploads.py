"""New versions: an upload (from the form, the API or an import); a re-crop of a kept one is
kept the same way (web/services/pictures/recrops.py).

An upload is read with a hard cap, scanned when a scanner is configured, processed by the
imaging pipeline, and kept: its files first (atomically, under a name of their own), then one
transaction. The files are removed again when the transaction is known to have failed; when
the commit's outcome is unknown (the connection died during COMMIT) they stay for
`ppsync media sweep`, which removes only unreferenced files. Every refusal is audited.
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import IO, Any

import msgspec
from sqlmodel import Session

from db.models import ProfilePicture
from web.services import clamav, imaging
from web.services.audit import Actor
from web.services.commits import Change
from web.services.imaging import cage
from web.services.imaging.encode import threads
from web.services.pictures import avif, idempotency, reads, versions
from web.services.pictures.access import PictureError, authorise, refusals_audited
from web.services.pictures.crops import NO_CROP, CropFields, crop_from
from web.services.pictures.names import files_path, new_name, preview_uri
from web.services.pictures.storage import MediaStore

Scanner = Callable[[bytes], str | None]  # clamav.scan with its socket: a virus's name or None
SOURCE_DIGEST = "source_sha256"  # metadata: the SHA-256 of the uploaded bytes
log = logging.getLogger("ppsync.pictures")


@dataclass(frozen=True, slots=True)
class Source:
    """What a version's history row says of where it came from: the file the member chose (its
    name, sanitised) and its size, or for a re-crop the version it was cut from and the size of
    the kept copy it was cut from; and the digest of the uploaded bytes (SOURCE_DIGEST)."""

    name: str
    size: int
    digest: str | None
    recrop_of: int | None = None


@dataclass(frozen=True, slots=True)
class Uploaded:
    """The new version (`change` None: a retry, answered from its Idempotency-Key), and what
    the member should know about it (a square too small to look sharp)."""

    change: Change | None
    version: int
    state: reads.PictureState
    warnings: tuple[imaging.PictureWarning, ...] = ()


def upload(
    session: Session,
    store: MediaStore,
    *,
    actor: Actor,
    user_id: int,
    file: IO[bytes] | None,
    original_name: str,
    crop: CropFields = NO_CROP,
    limits: imaging.Limits = imaging.DEFAULT_LIMITS,
    scan: Scanner | None = None,
    idempotency_key: str | None = None,
    edits: imaging.Edits = imaging.NO_EDITS,
) -> Uploaded:
    """A new version from a file, made the member's picture (crop and edits: see _upload)."""
    authorise(session, actor=actor, user_id=user_id, action="picture.upload")
    with refusals_audited(session, actor=actor, action="picture.upload", user_id=user_id):
        data = read_capped(file, limits)
        made = partial(
            _upload, session, store, actor, user_id, data, original_name, crop, limits, scan, edits
        )
        if idempotency_key is None:
            return made()
        assert actor.user_id is not None  # keys belong to the calling member
        fingerprint = _fingerprint(user_id, data, edits)
        stored = idempotency.claim(
            session, user_id=actor.user_id, key=idempotency_key, fingerprint=fingerprint
        )
        if stored is not None:
            return _replayed(session, user_id, stored.body)
        try:
            done = made()
        except BaseException:
            idempotency.release(session, user_id=actor.user_id, key=idempotency_key)
            raise
        body = msgspec.to_builtins(done.state) | {"warnings": msgspec.to_builtins(done.warnings)}
        idempotency.complete(
            session, user_id=actor.user_id, key=idempotency_key, status=201, body=body
        )
        return done


def _fingerprint(user_id: int, data: bytes, edits: imaging.Edits) -> str:
    asked = [",".join(edits.labels()).encode()] if edits.any else []  # older keys still match
    return idempotency.fingerprint(str(user_id).encode(), data, *asked)


def suggest_crop(
    file: IO[bytes] | None, limits: imaging.Limits, scan: Scanner | None = None, *, user_id: int
) -> imaging.Suggestion:
    """The square an upload of this file would be cut to without a crop, for the cropper to
    start from: read with the same cap, scan and checks as an upload; nothing is kept."""
    data = read_capped(file, limits)
    if scan is not None:
        _scan(scan, data, user_id)
    return cage.suggest_crop(data, limits=limits)


def scanner(clamd_socket: str | None) -> Scanner | None:
    """The virus scan of uploads, when a clamd socket is configured."""
    if not clamd_socket:
        return None
    return lambda data: clamav.scan(data, socket_path=clamd_socket)


def clean_name(raw: str) -> str:
    """The client's file name, for display only: no path, no control characters, bounded."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if ch.isprintable())
    return name.strip()[:120] or "picture"


def read_capped(file: IO[bytes] | None, limits: imaging.Limits) -> bytes:
    if file is None:
        raise imaging.ImageRejected(400, "missing", "Choose a picture to upload first.")
    data = file.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        raise imaging.rejected("too_large", limits)
    return data


def _upload(
    session: Session,
    store: MediaStore,
    actor: Actor,
    user_id: int,
    data: bytes,
    original_name: str,
    crop: CropFields,
    limits: imaging.Limits,
    scan: Scanner | None,
    edits: imaging.Edits,
) -> Uploaded:
    # crop as typed (left, top and side as fractions; all empty: a centred square); the edits go
    # to the variants, never to the master. hashlib lets go of the GIL on large inputs: the
    # digest is made while the photo decodes.
    digest = threads().submit(source_digest, data)
    processed = checked(
        data, crop=crop_from(crop), limits=limits, scan=scan, user_id=user_id, edits=edits
    )
    own = Source(clean_name(original_name), len(data), digest.result())
    return keep(session, store, actor, user_id, processed, own)


def checked(
    data: bytes,
    *,
    crop: imaging.Crop | None,
    limits: imaging.Limits,
    scan: Scanner | None,
    user_id: int,
    edits: imaging.Edits = imaging.NO_EDITS,
) -> imaging.Processed:
    """What an upload's bytes go through before anything is kept: the scan, then the pipeline."""
    if scan is not None:
        _scan(scan, data, user_id)
    return cage.process(data, crop=crop, limits=limits, edits=edits)


def source_digest(data: bytes) -> str:
    """The digest of an upload's own bytes, kept in its version's metadata (SOURCE_DIGEST):
    `ppsync import` compares it to skip a file that is the member's picture already."""
    return hashlib.sha256(data).hexdigest()


def _replayed(session: Session, user_id: int, body: dict[str, Any]) -> Uploaded:
    try:
        first = msgspec.convert(body, reads.PictureState, strict=False)
        said = msgspec.convert(body.get("warnings", []), list[imaging.PictureWarning])
    except msgspec.ValidationError:  # stored by an older release in another shape
        first, said = reads.state(session, user_id), []
    return Uploaded(None, first.version or 0, first, tuple(said))


def _scan(scan: Scanner, data: bytes, user_id: int) -> None:
    """Refuse what the virus scanner flags, and refuse rather than store unscanned if it fails."""
    try:
        found = scan(data)
    except clamav.ScanFailed as error:
        log.warning("upload by member %s refused: virus scan failed: %s", user_id, error)
        raise imaging.rejected("scan_unavailable") from error
    if found is not None:
        log.warning("upload by member %s refused: virus scanner found %s", user_id, found)
        raise imaging.rejected("infected")


def keep(
    session: Session,
    store: MediaStore,
    actor: Actor,
    user_id: int,
    processed: imaging.Processed,
    source: Source,
) -> Uploaded:
    """Files first (atomic, this upload's own), then one transaction.

    No other version refers to these files before the commit, so removing them when the
    transaction is known to have failed never takes a kept version's files away.
    """
    filename = new_name()
    keys = store.write_processed(user_id, filename, processed)
    try:
        change, version = _stage(session, actor, user_id, processed, filename, source)
        avif.note(session, user_id, filename, processed)  # made after the answer, if committed
    except BaseException:
        store.remove(keys)
        raise
    try:
        versions.commit(session)
    except PictureError:  # known to have rolled back
        store.remove(keys)
        raise
    except BaseException:
        log.warning(
            "commit of member %s's upload %s failed with an unknown outcome; "
            "its files stay for `ppsync media sweep`",
            user_id,
            filename,
        )
        raise
    return Uploaded(change, version, reads.state(session, user_id), processed.warnings())


def _stage(
    session: Session,
    actor: Actor,
    user_id: int,
    processed: imaging.Processed,
    filename: str,
    source: Source,
) -> tuple[Change, int]:
    with versions.staged(session, user_id) as profile:
        picture = ProfilePicture(
            user_id=user_id,
            version=versions.next_version(session, user_id),
            filename=filename,
            original_name=source.name,
            file_path=files_path(user_id, filename),
            file_size=source.size,
            mime_type=f"image/{processed.source_format.lower()}",
            width=processed.source_width,
            height=processed.source_height,
            recrop_of=source.recrop_of,
            edits=list(processed.edits) or None,
            meta=_meta(processed) | ({SOURCE_DIGEST: source.digest} if source.digest else {}),
            preview=preview_uri(processed.preview),
        )
        session.add(picture)
        versions.activate(session, profile, picture)
        return versions.record(
            session, actor, picture, "picture.upload", "uploaded"
        ), picture.version


def _meta(processed: imaging.Processed) -> dict[str, Any]:
    return {
        "source_format": processed.source_format,
        "original_size": [processed.source_width, processed.source_height],
        "orientation_applied": processed.orientation_applied,
        "animated": processed.animated,
        "has_alpha": processed.has_alpha,
        "placeholder": processed.placeholder,
        "master": {"ext": processed.master.ext, "bytes": len(processed.master.data)},
        "crop": [processed.crop.x, processed.crop.y, processed.crop.size],
        "crop_source": processed.crop_source,
        "variants": [
            {"px": v.px, "ext": v.ext, "bytes": len(v.data), "animated": v.animated}
            for v in processed.variants
        ],
    }
