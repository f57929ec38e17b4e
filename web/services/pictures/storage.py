"""Picture files on local disk under MEDIA_ROOT, addressed by key and written atomically.

A reader never sees half a file: each one is written to a temporary name in its own directory,
fsynced, renamed over its final name, and the directory fsynced. Temporary names start with
TEMP_PREFIX, so that a sweep can tell a crashed upload's leftovers from real files.

Each upload's files get a name of their own (`names.new_name`), never shared with another
upload of the same bytes: an upload that fails can then remove its files without taking away
files that a kept version uses. Keys follow `names`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from web.services.imaging import Processed
from web.services.pictures.names import is_served, master_key, variant_key

TEMP_PREFIX = ".tmp-"
# Served variants are readable by a front proxy running as another user; masters are not.
_PUBLIC_MODE = 0o644


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def write_processed(self, user_id: int, name: str, processed: Processed) -> list[str]:
        """Writes every variant, then the master, under `name`; returns all their keys."""
        return self.write(self._files(user_id, name, processed))

    def write(self, files: list[tuple[str, bytes]], *, replace: bool = False) -> list[str]:
        """Writes (key, bytes) pairs atomically; returns their keys.

        Files already there are left as they are (so a repeat is harmless) unless `replace`
        (a repair). If a write fails, the files this call created are removed.
        """
        created: list[Path] = []
        try:
            for key, data in files:
                path = self.path(key)
                if replace or not path.exists():
                    _write_atomic(path, data, _PUBLIC_MODE if is_served(key) else None)
                    created.append(path)
            for directory in {path.parent for path in created}:
                _fsync_dir(directory)
        except BaseException:
            for path in created:
                path.unlink(missing_ok=True)
            raise
        return [key for key, _ in files]

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def remove(self, keys: Iterable[str]) -> None:
        """Deletes the files of these keys; a missing one is not an error."""
        for key in keys:
            self.path(key).unlink(missing_ok=True)

    def path(self, key: str) -> Path:
        """The file of a key; ValueError for anything that could reach outside the root."""
        parts = key.split("/")
        if "\0" in key or "\\" in key or any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"not a media key: {key!r}")
        root = self.root.resolve()
        path = (root / key).resolve()
        if not path.is_relative_to(root) or path == root:
            raise ValueError(f"media key leaves the media root: {key!r}")
        return path

    def keys_under(self, prefix: str) -> Iterator[str]:
        """Every file under prefix, temporary ones included (they start with TEMP_PREFIX)."""
        base = self.path(prefix)
        root = self.root.resolve()
        for directory, subdirs, names in os.walk(base):
            subdirs.sort()
            for name in sorted(names):
                yield (Path(directory) / name).relative_to(root).as_posix()

    def _files(self, user_id: int, name: str, processed: Processed) -> list[tuple[str, bytes]]:
        master = processed.master
        files = [
            (variant_key(user_id, name, v.px, v.ext, animated=v.animated), v.data)
            for v in processed.variants
        ]
        # The master last: once it exists, the whole set does.
        return [*files, (master_key(user_id, name, master.ext), master.data)]


def _write_atomic(path: Path, data: bytes, mode: int | None) -> None:
    _make_dirs(path.parent)
    fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            if mode is not None:
                os.fchmod(out.fileno(), mode)
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def _make_dirs(directory: Path) -> None:
    """Creates missing directories, fsyncing each parent so the new entry survives a crash."""
    if directory.is_dir():
        return
    _make_dirs(directory.parent)
    with contextlib.suppress(FileExistsError):  # another upload made it meanwhile
        directory.mkdir()
    _fsync_dir(directory.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
