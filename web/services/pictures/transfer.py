"""Copying one store into another (`ppsync media copy`): a site moves its disk store into a
bucket without downtime by copying, switching MEDIA_STORE, and copying again for the stragglers.

Idempotent and resumable: a file the target already has with the same size is skipped, so a
second run (or one after an interruption) copies only what is missing. Temporary leftovers of
crashed uploads are not copied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from web.services.pictures.names import FOLDERS
from web.services.pictures.storage import TEMP_PREFIX, MediaStore


@dataclass(slots=True)
class Progress:
    total: int = 0
    copied: int = 0
    skipped: int = 0  # already in the target with the same size

    @property
    def done(self) -> int:
        return self.copied + self.skipped


def copy_store(
    source: MediaStore, target: MediaStore, *, report: Callable[[Progress], None] | None = None
) -> Progress:
    """Copies every file of `source` that `target` lacks (or has with another size)."""
    there = {item.key: item.size for folder in FOLDERS for item in target.keys_under(folder)}
    files = [
        item
        for folder in FOLDERS
        for item in source.keys_under(folder)
        if not item.key.rsplit("/", 1)[-1].startswith(TEMP_PREFIX)
    ]
    progress = Progress(total=len(files))
    for item in files:
        if there.get(item.key) == item.size:
            progress.skipped += 1
        else:
            target.write([(item.key, source.read(item.key))], replace=True)
            progress.copied += 1
        if report is not None:
            report(progress)
    return progress
