"""Where picture files live: one interface (`MediaStore`), two implementations chosen by settings.

`media_store(settings)` is the one place that chooses: `DiskStore` under MEDIA_ROOT (the default)
or `S3Store` (web/services/pictures/s3.py) when MEDIA_STORE is s3://BUCKET/PREFIX. Everything
else (uploads, re-crops, reads, retention, the check, the media and crop routes, the CLI) takes
a `MediaStore` and never a path.

On disk a reader never sees half a file: each one is written to a temporary name in its own
directory, fsynced, renamed over its final name, and the directory fsynced. Temporary names start
with TEMP_PREFIX, so that a sweep can tell a crashed upload's leftovers from real files. (An
object store's PUT is atomic by itself.)

Each upload's files get a name of their own (`names.new_name`), never shared with another
upload of the same bytes: an upload that fails can then remove its files without taking away
files that a kept version uses. Keys follow `names`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, TypeVar

from web.services.imaging import Processed
from web.services.pictures.names import is_served, master_key, variant_key

if TYPE_CHECKING:
    pass

TEMP_PREFIX = ".tmp-"
CHUNK = 256 * 1024  # bytes per chunk when a file is streamed
IO_THREADS = 16  # files written and fsynced at once, all uploads together
T = TypeVar("T")
# Served variants are readable by a front proxy running as another user; masters are not.
_PUBLIC_MODE = 0o644


@dataclass(frozen=True, slots=True)
class Stored:
    """One stored file as a listing sees it."""

    key: str
    modified: float  # seconds since the epoch (a file's mtime, an object's LastModified)
    size: int


@dataclass(slots=True)
class Blob:
    """A file opened for sending: its size, then its bytes in chunks (closed when exhausted)."""

    size: int
    chunks: Iterator[bytes]


class StoreUnavailable(Exception):
    """The store cannot be reached, or answers with a server error: retry later (503)."""


class MediaStore(Protocol):
    """Picture files addressed by key. Missing keys: `read` raises FileNotFoundError, `open`
    answers None, `remove` ignores them."""

    def write_processed(self, user_id: int, name: str, processed: Processed) -> list[str]:
        """Writes every variant, then the master, under `name`; returns all their keys."""
        ...

    def write(self, files: list[tuple[str, bytes]], *, replace: bool = False) -> list[str]:
        """Writes (key, bytes) pairs, each atomically; returns their keys. Those already there
        are left as they are unless `replace`; if a write fails, what this call wrote is removed."""
        ...

    def read(self, key: str) -> bytes: ...

    def open(self, key: str) -> Blob | None: ...

    def exists(self, key: str) -> bool: ...

    def remove(self, keys: Iterable[str]) -> None: ...

    def keys_under(self, prefix: str) -> Iterator[Stored]:
        """Every file under the folder `prefix` (temporary leftovers included), in key order."""
        ...


def processed_files(user_id: int, name: str, processed: Processed) -> list[tuple[str, bytes]]:
    """A version's (key, bytes): the variants, then the master (once it exists, the whole set
    does)."""
    master = processed.master
    files = [
        (variant_key(user_id, name, v.px, v.ext, animated=v.animated), v.data)
        for v in processed.variants
    ]
    return [*files, (master_key(user_id, name, master.ext), master.data)]


def check_key(key: str) -> str:
    """The key itself; ValueError for one with empty, "." or ".." parts or odd characters."""
    parts = key.split("/")
    if "\0" in key or "\\" in key or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"not a media key: {key!r}")
    return key


class DiskStore:
    """Files under a root directory (MEDIA_ROOT)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def write_processed(self, user_id: int, name: str, processed: Processed) -> list[str]:
        """Writes every variant, then the master, under `name`; returns all their keys."""
        return self.write(processed_files(user_id, name, processed))

    def write(self, files: list[tuple[str, bytes]], *, replace: bool = False) -> list[str]:
        """Writes (key, bytes) pairs atomically; returns their keys.

        Files already there are left as they are (so a repeat is harmless) unless `replace`
        (a repair). If a write fails, the files this call created are removed. The temporary
        files are written and fsynced side by side (the disk commits their fsyncs together:
        15 one after another took 65 ms here, side by side 12), then renamed in order, so the
        last (a version's master) appears last, then each directory is fsynced.
        """
        todo = [
            (self.path(key), data, _PUBLIC_MODE if is_served(key) else None) for key, data in files
        ]
        todo = [item for item in todo if replace or not item[0].exists()]
        for directory in {path.parent for path, _, _ in todo}:
            _make_dirs(directory)
        temps = _side_by_side(_write_temp, todo)
        created: list[Path] = []
        try:
            for (path, _, _), temp in zip(todo, temps, strict=True):
                os.replace(temp, path)
                created.append(path)
            _side_by_side(_fsync_dir, [(d,) for d in {path.parent for path in created}])
        except BaseException:
            for path in created:
                path.unlink(missing_ok=True)
            for temp in temps[len(created) :]:
                temp.unlink(missing_ok=True)
            raise
        return [key for key, _ in files]

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    def open(self, key: str) -> Blob | None:
        try:
            file = self.path(key).open("rb")
        except (FileNotFoundError, IsADirectoryError):
            return None
        return Blob(os.fstat(file.fileno()).st_size, _chunks(file))

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def remove(self, keys: Iterable[str]) -> None:
        """Deletes the files of these keys; a missing one is not an error."""
        for key in keys:
            self.path(key).unlink(missing_ok=True)

    def path(self, key: str) -> Path:
        """The file of a key; ValueError for anything that could reach outside the root."""
        check_key(key)
        root = self.root.resolve()
        path = (root / key).resolve()
        if not path.is_relative_to(root) or path == root:
            raise ValueError(f"media key leaves the media root: {key!r}")
        return path

    def keys_under(self, prefix: str) -> Iterator[Stored]:
        base = self.path(prefix)
        root = self.root.resolve()
        for directory, subdirs, names in os.walk(base):
            subdirs.sort()
            for name in sorted(names):
                path = Path(directory) / name
                try:
                    info = path.stat()
                except FileNotFoundError:  # removed meanwhile (a concurrent purge or sweep)
                    continue
                yield Stored(path.relative_to(root).as_posix(), info.st_mtime, info.st_size)


def _chunks(file: BinaryIO) -> Iterator[bytes]:
    with file:
        while chunk := file.read(CHUNK):
            yield chunk


def _side_by_side(task: Callable[..., T], calls: list[tuple[Any, ...]]) -> list[T]:
    """task(*args) for each, on the I/O threads; every call has ended when this returns, and
    the first failure is raised after the others' results are undone by their own cleanup."""
    if len(calls) <= 1:
        return [task(*args) for args in calls]
    futures = [_io_threads().submit(task, *args) for args in calls]
    wait(futures)
    failed = next((f.exception() for f in futures if f.exception() is not None), None)
    if failed is not None:
        for future in futures:
            done = future.exception() is None and future.result()
            if isinstance(done, Path):
                done.unlink(missing_ok=True)
        raise failed
    return [future.result() for future in futures]


@cache
def _io_threads() -> ThreadPoolExecutor:
    """Threads that mostly wait for the disk (fsync releases the GIL), made on first use."""
    return ThreadPoolExecutor(IO_THREADS, thread_name_prefix="media-io")


def _write_temp(path: Path, data: bytes, mode: int | None) -> Path:
    """data in a new temporary file beside path, fsynced; its name."""
    fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            if mode is not None:
                os.fchmod(out.fileno(), mode)
            os.fsync(out.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    return Path(temp)


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
