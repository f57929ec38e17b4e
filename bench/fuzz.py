"""Feeds the upload pipeline the hostile corpus and random mutations of it, for a while.

    .venv/bin/python bench/fuzz.py [--corpus DIR] [--minutes 1] [--seed 0] [--keep DIR]

Every file of the corpus (default: ../shared/corpus beside the checkout) and of a few small
files of every format made in code (HEIC and AVIF among them: the corpus has none) is run
once, then mutated at random (bit flips, truncations, slices copied elsewhere, length fields
set to edge values), seeded, until the time is up. Each input must end accepted or refused
(ImageRejected), each in the decode cage as an upload is; anything else, and a worker that died,
is a crash, saved with its traceback in --keep (default ./fuzz-crashes), as is every input that
hit a ceiling of the cage (memory, CPU, deadline). Exits 1 if anything crashed.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import random
import struct
import sys
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from web.services.imaging import ImageRejected, Limits, cage  # noqa: E402

# The app's ceilings; the size cap lifted so that big corpus files reach the decoders.
LIMITS = Limits(max_bytes=64 * 2**20)
CEILINGS_HIT = ("refused too_slow", "refused too_much_memory")

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
SLOW_SECONDS = 2.0
EDGES = (0, 1, 2, 7, 8, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF)


def run_one(data: bytes) -> str:
    """ "accepted" or "refused <code>" (a ceiling hit: "refused too_much_memory" or
    "refused too_slow"); any other exception is a crash, raised to the caller. The pipeline runs
    in the cage, as an upload's does: a decoder's segfault is a refusal there, logged."""
    try:
        cage.process(data, limits=LIMITS)
    except ImageRejected as exc:
        return f"refused {exc.code}"
    return "accepted"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, default=Path("fuzz-crashes"))
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning, module="PIL")  # EXIF noise
    seeds = corpus(args.corpus) + made_in_code()
    tally = Tally(args.keep)
    for data in seeds:
        tally.run(data)
    rng = random.Random(args.seed)
    deadline = time.monotonic() + args.minutes * 60
    while time.monotonic() < deadline:
        tally.run(mutate(rng, rng.choice(seeds)))
    print(tally.report(len(seeds), args.seed))
    return 1 if tally.crashes else 0


def corpus(folder: Path) -> list[bytes]:
    return [path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file()]


def made_in_code() -> list[bytes]:
    """Small valid files of every format, and the issue's hostile ones that are small."""
    from tests import hostile, images

    return [
        images.jpeg((48, 32), progressive=True),
        images.png((16, 16)),
        images.animated_gif(size=(16, 16)),
        images.animated_webp(size=(16, 16)),
        images.heic(images.solid((32, 32))),
        images.avif(images.solid((32, 32))),
        images.avif_sequence(frames=2, size=(16, 16)),
        hostile.avif_padded_sequence_header(coded=(2000, 2000)),
        hostile.heif_nested(40),
        hostile.jpeg_many_scans(120, size=(32, 32)),
    ]


class WorkerDeaths(logging.Handler):
    """The cage's log of a worker that died (a decoder's crash): refused "corrupt" to a member,
    a crash here."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class Tally:
    def __init__(self, keep: Path) -> None:
        self.keep, self.outcomes, self.crashes, self.slow = keep, Counter[str](), Counter[str](), 0
        self.ceilings = 0
        self.started = time.monotonic()
        self.deaths = WorkerDeaths()
        logging.getLogger("ppsync.cage").addHandler(self.deaths)

    def run(self, data: bytes) -> None:
        start = time.perf_counter()
        try:
            outcome = run_one(data)
        except Exception as exc:  # a crash: keep the input and its traceback, go on
            name = type(exc).__name__
            self.crashes[name] += 1
            self.save(data, "crash", traceback.format_exc())
            outcome = f"CRASH {name}"
        if self.deaths.messages:
            self.crashes["worker died"] += 1
            self.save(data, "crash", "\n".join(self.deaths.messages) + "\n")
            self.deaths.messages.clear()
        if outcome in CEILINGS_HIT:
            self.ceilings += 1
            self.save(data, "ceiling", outcome + "\n")
        if time.perf_counter() - start > SLOW_SECONDS:
            self.slow += 1
            self.save(data, "slow", f"{outcome} in {time.perf_counter() - start:.1f} s\n")
        self.outcomes[outcome.split(" ")[0]] += 1
        if outcome.startswith("refused"):
            self.outcomes[outcome] += 1

    def save(self, data: bytes, kind: str, note: str) -> None:
        self.keep.mkdir(parents=True, exist_ok=True)
        stem = self.keep / f"{kind}-{hashlib.sha256(data).hexdigest()[:16]}"
        stem.with_suffix(".bin").write_bytes(data)
        stem.with_suffix(".txt").write_text(note)

    def report(self, seeds: int, seed: int) -> str:
        total = self.outcomes["accepted"] + self.outcomes["refused"] + sum(self.crashes.values())
        codes = sorted((k.split(" ", 1)[1], v) for k, v in self.outcomes.items() if " " in k)
        lines = [
            f"{total} inputs ({seeds} seeds, mutations from seed {seed}) in "
            f"{time.monotonic() - self.started:.0f} s",
            f"accepted {self.outcomes['accepted']}, refused {self.outcomes['refused']}, "
            f"crashes {sum(self.crashes.values())}, ceilings hit {self.ceilings}, "
            f"slower than {SLOW_SECONDS:.0f} s {self.slow}",
            "refused by code: " + ", ".join(f"{code} {count}" for code, count in codes),
        ]
        if self.crashes:
            lines.append(f"crashes (kept in {self.keep}): {dict(self.crashes)}")
        return "\n".join(lines)


def mutate(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        if len(out) < 2:
            break
        rng.choice(MUTATIONS)(rng, out)
    return bytes(out)


def flip(rng: random.Random, out: bytearray) -> None:
    for _ in range(rng.randint(1, 8)):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)


def truncate(rng: random.Random, out: bytearray) -> None:
    del out[rng.randrange(1, len(out)) :]


def duplicate(rng: random.Random, out: bytearray) -> None:
    """A slice (a box, a chunk, a segment, or part of one) copied elsewhere, maybe often."""
    start = rng.randrange(len(out))
    piece = out[start : start + rng.choice((4, 8, 12, 64, 512))]
    at = rng.randrange(len(out))
    out[at:at] = piece * rng.choice((1, 1, 2, 16, 256))


def length_field(rng: random.Random, out: bytearray) -> None:
    """A 16- or 32-bit field, either byte order, set to an edge value or nudged by one."""
    size, code = rng.choice(((2, "H"), (4, "I")))
    if len(out) < size:
        return
    code = rng.choice("<>") + code
    at = rng.randrange(len(out) - size + 1)
    (value,) = struct.unpack_from(code, out, at)
    new = rng.choice((rng.choice(EDGES), value + 1, value - 1, value * 2))
    struct.pack_into(code, out, at, new % (1 << (8 * size)))


MUTATIONS: tuple[Callable[[random.Random, bytearray], None], ...] = (
    flip,
    truncate,
    duplicate,
    length_field,
)


if __name__ == "__main__":
    sys.exit(main())
