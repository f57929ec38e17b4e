"""The cage: every decode of untrusted bytes runs in a worker process under kernel ceilings.

A worker is forked from a forkserver that has imported the pipeline once, warms itself up with
a small picture, then sets `RLIMIT_AS` to what it uses after that plus `IMAGE_MEMORY_MB`. Before
each job it sets `RLIMIT_CPU` to the CPU it has used plus `IMAGE_CPU_SECONDS`: past that the
kernel sends SIGXCPU, which ends it. `IMAGE_DEADLINE_SECONDS` of wall clock after a job starts,
the pool (pebble) kills the worker. A dead worker is replaced; the other jobs never notice. A
ceiling hit is a refusal (`too_much_memory`, `too_slow`), a 422 like any other.

The upload's bytes go to the worker through shared memory that is reused (handover.py); the
result (the master and the variants, a few hundred KB) comes back pickled.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import logging
import math
import multiprocessing
import os
import resource
import signal
import threading
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from typing import Any, TypeVar

from pebble import ProcessExpired, ProcessPool

from web.services import imaging
from web.services.imaging import DEFAULT_LIMITS, handover
from web.services.imaging.avif import avif_variant
from web.services.imaging.edits import NO_EDITS, Edits
from web.services.imaging.types import (
    Ceilings,
    Crop,
    CropChoices,
    ImageRejected,
    Limits,
    Processed,
    Square,
    Suggestion,
    rejected,
)

T = TypeVar("T")
log = logging.getLogger("ppsync.cage")

# A worker is replaced after this many jobs, so that no slow leak or fragmentation can build up.
_JOBS_PER_WORKER = 500
# glibc's malloc, set so that RLIMIT_AS counts what a job uses, not what malloc keeps in reserve:
# one arena (each thread's own would reserve 64 MB of address space), and every block over
# 4 MB (Pillow's pixels, a decoder's frame buffers) its own mapping, returned when freed: the
# threshold otherwise rises to 32 MB, and a job's freed pixels stay in the heap for the next
# job to grow into unseen. Measured: no change to the pipeline's CPU time at 4 MB (at 256 KB,
# +10-20 %, from page faults).
_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8
_MMAP_THRESHOLD = 4 * 2**20
# What a failed allocation says inside the C libraries (libjpeg, libheif, libavif, libwebp).
_MEMORY_WORDS = ("memory", "alloc")
# How long work after an answer waits for the decodes running to finish (a stream of uploads
# never leaves the cage idle: it then starts anyway, at nice 19).
IDLE_WAIT_SECONDS = 10.0
_jobs = threading.Condition()
_running = 0  # jobs of the answer's path in the cage now, every pool together


def process(
    data: bytes,
    *,
    crop: Crop | None = None,
    limits: Limits = DEFAULT_LIMITS,
    edits: Edits = NO_EDITS,
) -> Processed:
    """imaging.process in the cage."""
    return run(limits.ceilings, imaging.process, data, crop=crop, limits=limits, edits=edits)


def recrop(
    master: bytes,
    *,
    crop: Crop | None,
    turns: int = 0,
    limits: Limits = DEFAULT_LIMITS,
    edits: Edits = NO_EDITS,
) -> Processed:
    """imaging.recrop in the cage."""
    return run(
        limits.ceilings, imaging.recrop, master, crop=crop, turns=turns, limits=limits, edits=edits
    )


def preview(
    data: bytes, *, crop: Crop | None, edits: Edits, limits: Limits = DEFAULT_LIMITS
) -> bytes:
    """imaging.preview in the cage."""
    return run(limits.ceilings, imaging.preview, data, crop=crop, edits=edits, limits=limits)


def rotated(master: bytes, turns: int, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """imaging.rotated in the cage."""
    return run(limits.ceilings, imaging.rotated, master, turns=turns, limits=limits)


def suggest_crop(data: bytes, *, limits: Limits = DEFAULT_LIMITS) -> Suggestion:
    """imaging.suggest_crop in the cage."""
    return run(limits.ceilings, imaging.suggest_crop, data, limits=limits)


def crop_choices(master: bytes, *, turns: int = 0, limits: Limits = DEFAULT_LIMITS) -> CropChoices:
    """imaging.crop_choices in the cage."""
    return run(limits.ceilings, imaging.crop_choices, master, turns=turns, limits=limits)


def avif(square: Square, *, webps: dict[int, bytes], ceilings: Ceilings) -> dict[int, bytes]:
    """imaging's AVIF copies in the cage, under every decode's ceilings, in a worker of their own
    at nice 19 (`after_answer`): one short job a size, each started once the cage is `idle`."""
    made = {}
    for px, webp in sorted(webps.items()):
        idle()
        found = run(
            after_answer(ceilings),
            avif_variant,
            square.pixels,
            mode=square.mode,
            side=square.side,
            px=px,
            webp=webp,
        )
        if found is not None:
            made[px] = found
    return made


def idle() -> None:
    """Returns once no job of an answer's path runs in the cage, or after IDLE_WAIT_SECONDS."""
    with _jobs:
        _jobs.wait_for(lambda: _running == 0, timeout=IDLE_WAIT_SECONDS)


def after_answer(ceilings: Ceilings) -> Ceilings:
    """The pool for work done after an upload's answer: one worker, at nice 19."""
    return replace(ceilings, workers=1, nice=19)


def run(ceilings: Ceilings, fn: Callable[..., T], data: bytes, /, **kwargs: Any) -> T:
    """fn(data, **kwargs) in a caged worker: its result, its ImageRejected, or a refusal for a
    ceiling it hit. fn must be a module-level function (it is sent by name)."""
    if ceilings.nice:  # work after an answer: not counted as running (see avif)
        return _run(ceilings, fn, data, **kwargs)
    global _running
    with _jobs:
        _running += 1
    try:
        return _run(ceilings, fn, data, **kwargs)
    finally:
        with _jobs:
            _running -= 1
            _jobs.notify_all()


def _run(ceilings: Ceilings, fn: Callable[..., T], data: bytes, /, **kwargs: Any) -> T:
    with handover.handed(data) as path:
        future = _pool(ceilings).schedule(
            _job,
            args=(ceilings.cpu_seconds, fn, path, len(data)),
            kwargs=kwargs,
            timeout=ceilings.deadline_seconds,
        )
        result: T = _outcome(future)
        return result


def _outcome(future: Any) -> Any:
    try:
        return future.result()
    except FutureTimeout as error:
        log.warning("decode stopped at its deadline; the worker was replaced")
        raise rejected("too_slow") from error
    except ProcessExpired as error:
        raise _expired(error) from error


def _expired(error: ProcessExpired) -> ImageRejected:
    if error.exitcode == -signal.SIGXCPU:
        log.warning("decode stopped at its CPU ceiling; the worker was replaced")
        return rejected("too_slow")
    if error.exitcode == -signal.SIGKILL:  # the kernel's OOM killer, under a cgroup limit
        log.warning("decode worker killed (SIGKILL): counted as out of memory")
        return rejected("too_much_memory")
    log.error("decode worker died with exit code %s; the picture was refused", error.exitcode)
    return rejected("corrupt")


_pools: dict[Ceilings, ProcessPool] = {}
_pools_lock = threading.Lock()


def _pool(ceilings: Ceilings) -> ProcessPool:
    with _pools_lock:
        pool = _pools.get(ceilings)
        if pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([__name__, "web.services.imaging"])
            pool = ProcessPool(
                max_workers=ceilings.workers or os.cpu_count() or 1,
                max_tasks=_JOBS_PER_WORKER,
                initializer=_start_worker,
                initargs=(ceilings.memory_mb, ceilings.nice),
                context=context,
            )
            _pools[ceilings] = pool
        return pool


def warm(ceilings: Ceilings) -> None:
    """Starts the workers now (each warms up: about a second), in the background, so that the
    first upload after a start does not wait for them."""
    threading.Thread(target=run, args=(ceilings, _nothing, b""), daemon=True).start()


def _nothing(data: bytes) -> None:
    return None


def _start_worker(memory_mb: int, nice: int = 0) -> None:
    # The pool stops a worker past its deadline with SIGTERM: die at once, even inside a decoder
    # (pebble's handler would wait for the decoder to return to Python, then SIGKILL after 3 s).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGXCPU would otherwise dump a core
    if nice:
        os.nice(nice)
    _tune_malloc()
    _warm_up()
    ceiling = _address_space() + memory_mb * 2**20
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        ceiling = min(ceiling, hard)
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))


def _tune_malloc() -> None:
    libc = ctypes.util.find_library("c")
    if libc:
        mallopt = getattr(ctypes.CDLL(libc), "mallopt", None)
        if mallopt is not None:
            mallopt(_M_ARENA_MAX, 1)
            mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)


def _warm_up() -> None:
    """One small picture through the pipeline: its threads, arenas, the face model and the
    segmentation model are made now, so that the memory ceiling counts what a job adds, not
    what every worker needs."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 120, 150)).save(buf, "JPEG")
    imaging.process(buf.getvalue(), edits=Edits(enhance=True, background="blur"))


def _address_space() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _job(cpu_seconds: int, fn: Callable[..., T], path: str, size: int, /, **kwargs: Any) -> T:
    used = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(used) + cpu_seconds
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    try:
        with handover.taken(path, size) as data:
            return fn(data, **kwargs)
    except BaseException as error:
        if _out_of_memory(error):
            raise rejected("too_much_memory") from None
        raise


def _out_of_memory(error: BaseException | None) -> bool:
    """A MemoryError, or a decoder's allocation failure, anywhere in the chain of causes."""
    while error is not None:
        if isinstance(error, MemoryError):
            return True
        if not isinstance(error, ImageRejected) and any(
            word in str(error).lower() for word in _MEMORY_WORDS
        ):
            return True
        error = error.__cause__ or error.__context__
    return False
