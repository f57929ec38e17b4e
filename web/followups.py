"""Work a commit hands on to be done after the answer (web/services/commits.py's followups):
today a new version's AVIF copies (web/services/pictures/avif.py).

One background thread takes them in turn; the encodes themselves run in the cage's own worker
at the lowest priority, so uploads never wait for them. At most PENDING wait: past that (a
burst of uploads) a version goes without AVIF, as one does when the process stops before its
turn; its WebP serves, and `ppsync avif backfill` makes its copies later. Once a version's
copies are recorded, this process's cached avatar and fragments of that member are dropped, so
its pages offer them from then on; another process offers them once it next reads the member
(its next change, or a restart). Fragments a browser already keeps (immutable at their
version) keep their WebP.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine
from sqlmodel import Session

from web.caches.reads import ReadCache
from web.routes.components import FragmentCache
from web.services import imaging
from web.services.commits import Followup
from web.services.pictures import avif
from web.services.pictures.storage import MediaStore

PENDING = 32  # followups waiting; each holds a square's pixels (~0.5 MB)
log = logging.getLogger("ppsync.followups")


class Followups:
    def __init__(
        self,
        engine: Engine,
        store: MediaStore,
        reads: ReadCache,
        fragments: FragmentCache,
        ceilings: imaging.Ceilings,
    ) -> None:
        self.engine = engine
        self.store = store
        self.reads = reads
        self.fragments = fragments
        self.ceilings = ceilings
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="followup")
        self._slots = threading.BoundedSemaphore(PENDING)

    def submit(self, work: Followup) -> None:
        """A Commits' followup subscriber: told in the committing thread, returns at once."""
        if not isinstance(work, avif.Wanted):
            return
        if not self._slots.acquire(blocking=False):
            log.warning(
                "followups full: version %s of member %s gets no AVIF for now"
                " (`ppsync avif backfill` makes it later)",
                work.name,
                work.user_id,
            )
            return
        try:
            self._pool.submit(self._run, work)
        except RuntimeError:  # shut down
            self._slots.release()

    def settle(self) -> None:
        """Returns once every followup handed in before has run (one thread takes them in turn)."""
        self._pool.submit(lambda: None).result()

    def stop(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, work: avif.Wanted) -> None:
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                made = avif.add(session, self.store, work, self.ceilings)
            if made:
                self.reads.forget({work.user_id})
                self.fragments.forget_member(work.user_id)
        except Exception:  # the version keeps its WebP; nothing else depends on this
            log.exception("AVIF copies of member %s's %s failed", work.user_id, work.name)
        finally:
            self._slots.release()
