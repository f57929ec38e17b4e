"""Bulk import (`ppsync import DIR`): every `<handle>.<ext>` file as a new version of that member.

Each file goes through `uploads.upload`, as a member's upload does: the cap, the scan, the
pipeline, the files, one transaction, the audit (the operator as actor). A file whose bytes are
the member's current picture already (SOURCE_DIGEST in its metadata) is left alone, so running
an import again imports nothing new. Members are spread over a pool of worker threads, each with
its own session: Pillow, pillow-heif and OpenCV release the GIL while they decode, resize and
encode, so threads use every core. A member's own files go in name order, in one thread.
"""

from __future__ import annotations

import io
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, col, select

from db.models import User
from web.services import imaging
from web.services.audit import Actor
from web.services.commits import Change
from web.services.pictures import reads, uploads
from web.services.pictures.access import PictureError
from web.services.pictures.storage import MediaStore

# What became of a file.
IMPORTED = "imported"
UNCHANGED = "unchanged"  # the member's current picture has these bytes already
REFUSED = "refused"
UNKNOWN = "unknown handle"
WOULD_IMPORT = "would import"  # --dry-run: it passed every check


@dataclass(frozen=True, slots=True)
class Outcome:
    path: Path
    handle: str
    status: str
    reason: str = ""  # why it was refused
    version: int | None = None
    change: Change | None = None


@dataclass(slots=True)
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def ok(self) -> bool:
        """Every file imported (or already there, or, in a dry run, importable)."""
        return all(o.status in (IMPORTED, UNCHANGED, WOULD_IMPORT) for o in self.outcomes)

    @property
    def per_second(self) -> float:
        return len(self.outcomes) / self.seconds if self.seconds else 0.0


def candidates(directory: Path) -> list[Path]:
    """The directory's visible regular files named `<handle>.<ext>`, in name order."""
    return sorted(
        path
        for path in directory.iterdir()
        if path.is_file() and not path.name.startswith(".") and path.suffix and path.stem
    )


def run(
    sessions: Callable[[], Session],
    store: MediaStore,
    directory: Path,
    *,
    actor: Actor,
    limits: imaging.Limits,
    scan: uploads.Scanner | None = None,
    workers: int = 2,
    dry_run: bool = False,
    on_outcome: Callable[[Outcome], None] = lambda _outcome: None,
) -> Report:
    """Imports every candidate file; on_outcome is called (in the caller's thread) per file."""
    files = candidates(directory)
    with sessions() as session:
        members = _members(session, {path.stem.lower() for path in files})
    by_member: dict[int, list[Path]] = defaultdict(list)
    report = Report()
    started = time.perf_counter()
    for path in files:
        user_id = members.get(path.stem.lower())
        if user_id is None:
            report.outcomes.append(Outcome(path, path.stem, UNKNOWN))
            on_outcome(report.outcomes[-1])
        else:
            by_member[user_id].append(path)

    def member_files(user_id: int) -> list[Outcome]:
        with sessions() as session:
            job = _Job(session, store, actor, limits, scan, dry_run)
            return [job.one(user_id, path) for path in by_member[user_id]]

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="import") as pool:
        for future in as_completed([pool.submit(member_files, uid) for uid in by_member]):
            for outcome in future.result():
                report.outcomes.append(outcome)
                on_outcome(outcome)
    report.seconds = time.perf_counter() - started
    return report


def _members(session: Session, handles: set[str]) -> dict[str, int]:
    rows = session.exec(select(User.handle, User.id).where(col(User.handle).in_(handles)))
    return {handle: user_id for handle, user_id in rows if user_id is not None}


@dataclass(slots=True)
class _Job:
    session: Session
    store: MediaStore
    actor: Actor
    limits: imaging.Limits
    scan: uploads.Scanner | None
    dry_run: bool

    def one(self, user_id: int, path: Path) -> Outcome:
        handle = path.stem.lower()
        try:
            with path.open("rb") as file:
                data = file.read(self.limits.max_bytes + 1)  # the upload's cap, and one byte
            current = reads.current_meta(self.session, user_id) or {}
            if current.get(uploads.SOURCE_DIGEST) == uploads.source_digest(data):
                return Outcome(path, handle, UNCHANGED)
            if self.dry_run:
                return self._check(user_id, path, data)
            done = uploads.upload(
                self.session,
                self.store,
                actor=self.actor,
                user_id=user_id,
                file=io.BytesIO(data),
                original_name=path.name,
                limits=self.limits,
                scan=self.scan,
            )
        except imaging.ImageRejected as error:
            return Outcome(path, handle, REFUSED, error.message)
        except PictureError as error:
            return Outcome(path, handle, REFUSED, error.message)
        except OSError as error:
            return Outcome(path, handle, REFUSED, f"the file could not be read: {error.strerror}")
        return Outcome(path, handle, IMPORTED, version=done.version, change=done.change)

    def _check(self, user_id: int, path: Path, data: bytes) -> Outcome:
        if len(data) > self.limits.max_bytes:
            raise imaging.rejected("too_large", self.limits)
        uploads.checked(data, crop=None, limits=self.limits, scan=self.scan, user_id=user_id)
        return Outcome(path, path.stem.lower(), WOULD_IMPORT)
