"""A new version cut from a kept version's master: a new crop, or a turn, without uploading again.
Its history row says which version it was cut from (`recrop_of`), and its size is that of the
kept copy it was cut from, not the original upload's."""

from __future__ import annotations

from sqlmodel import Session

from web.services import imaging
from web.services.audit import Actor
from web.services.imaging import cage
from web.services.pictures import reads
from web.services.pictures.access import authorise, refusals_audited
from web.services.pictures.crops import EXACT, CropFields, chosen
from web.services.pictures.storage import MediaStore
from web.services.pictures.uploads import SOURCE_DIGEST, Source, Uploaded, keep


def recrop(
    session: Session,
    store: MediaStore,
    *,
    actor: Actor,
    user_id: int,
    version: int,
    crop: CropFields,
    turns: int = 0,
    limits: imaging.Limits = imaging.DEFAULT_LIMITS,
    choice: str = EXACT,
    edits: imaging.Edits = imaging.NO_EDITS,
) -> Uploaded:
    """A new version cut from a kept version's master. `turns` quarter turns clockwise
    (negative: anticlockwise) rotate the master first; `choice` is the re-crop page's
    (crops.py: exact takes `crop`); `edits` are applied to its variants."""
    authorise(session, actor=actor, user_id=user_id, action="picture.recrop")
    with refusals_audited(session, actor=actor, action="picture.recrop", user_id=user_id):
        source = reads.version_row(session, user_id, version)
        key, _mime = reads.master_key_of(store, source)
        master = store.read(key)
        square = chosen(master, choice, crop, turns, limits)
        processed = cage.recrop(master, crop=square, turns=turns, limits=limits, edits=edits)
        # The same upload, cut again: it keeps the name and the digest of the bytes it came
        # from; its size is its own source's, the kept copy (turned, when it was).
        own = Source(
            source.original_name,
            len(processed.master.data),
            source.meta.get(SOURCE_DIGEST),
            recrop_of=source.version,
        )
        return keep(session, store, actor, user_id, processed, own)
