"""A new version from a link a member pasted: fetched as if the network were hostile, then
exactly an upload.

The fetched bytes are as untrusted as any upload's, so they go through `uploads.upload` whole:
the cap, the virus scan, the cage, the crop, history, audit, live sync and the Idempotency-Key
(a retry with the same key fetches again, and its bytes, if the same, get the first answer).
The name kept in history is the link's last path segment, cleaned like an upload's file name.

A member has at most one fetch in flight (in this process): a second is refused (429) rather
than queued, so no member holds many worker threads waiting on slow servers. Every fetch is
audited (`picture.import_link`) with its link, credentials stripped, and so is every refusal.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from sqlmodel import Session

from web.services import audit, imaging
from web.services.audit import Actor
from web.services.fetch import FetchError, fetch_picture, redacted
from web.services.pictures import uploads
from web.services.pictures.access import PictureError, authorise
from web.services.pictures.storage import MediaStore
from web.settings import Settings

ACTION = "picture.import_link"
BUSY = "A link is being fetched for you already: wait for it to finish, then try again."

_in_flight: set[int] = set()  # members with a fetch running in this process
_in_flight_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Fetching:
    """Where a link may lead besides the public internet (CIDRs), and how long it may take."""

    allowed_networks: Sequence[str] = ()
    deadline: float = 10


def import_from_link(
    session: Session,
    store: MediaStore,
    *,
    actor: Actor,
    user_id: int,
    url: str,
    fetching: Fetching = Fetching(),
    limits: imaging.Limits = imaging.DEFAULT_LIMITS,
    scan: uploads.Scanner | None = None,
    idempotency_key: str | None = None,
) -> uploads.Uploaded:
    """The picture at `url` made the member's picture, as an upload of its bytes would be.
    Raises a `FetchError` when the link is not fetched, else whatever an upload raises."""
    authorise(session, actor=actor, user_id=user_id, action=ACTION)
    shown = redacted(url)
    with _refusals_audited(session, actor, user_id, shown), _one_at_a_time(user_id):
        fetched = fetch_picture(
            url,
            max_bytes=limits.max_bytes,
            deadline=fetching.deadline,
            allowed_networks=fetching.allowed_networks,
        )
        done = uploads.upload(
            session,
            store,
            actor=actor,
            user_id=user_id,
            file=io.BytesIO(fetched.body),
            original_name=name_of(url),
            limits=limits,
            scan=scan,
            idempotency_key=idempotency_key,
        )
    detail = f"version {done.version} from {shown}"
    audit.record(
        session, actor=actor, action=ACTION, outcome="ok", subject_id=user_id, detail=detail
    )
    session.commit()
    return done


def name_of(url: str) -> str:
    """The name history shows: the link's last path segment, cleaned like a file's name."""
    try:
        path = urlsplit(url.strip()).path
    except ValueError:
        path = ""
    return uploads.clean_name(unquote(path.rstrip("/").rsplit("/", 1)[-1]))


@contextmanager
def _one_at_a_time(user_id: int) -> Iterator[None]:
    with _in_flight_lock:
        if user_id in _in_flight:
            raise PictureError(429, BUSY)
        _in_flight.add(user_id)
    try:
        yield
    finally:
        with _in_flight_lock:
            _in_flight.discard(user_id)


@contextmanager
def _refusals_audited(session: Session, actor: Actor, user_id: int, shown: str) -> Iterator[None]:
    """A refused link written to the audit log with the link, after the attempt's rollback
    (an upload's own refusal has its `picture.upload` row already)."""
    try:
        yield
    except (FetchError, imaging.ImageRejected, PictureError) as error:
        session.rollback()
        code = error.message if isinstance(error, PictureError) else error.code
        audit.record(
            session,
            actor=actor,
            action=ACTION,
            outcome="invalid",
            subject_id=user_id,
            detail=f"{code}: {shown}",
        )
        session.commit()
        raise


def fetching_of(settings: Settings) -> Fetching:
    """The operator's fetch settings (FETCH_ALLOWED_NETWORKS, FETCH_DEADLINE_SECONDS)."""
    networks = tuple(str(network) for network in settings.fetch_allowed_networks)
    return Fetching(allowed_networks=networks, deadline=settings.fetch_deadline_seconds)
