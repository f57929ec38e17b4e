"""What the edits of issue 28 cost (docs/editing.md), beside the plain upload, in one process.

    .venv/bin/python bench/edits.py [--runs N]

1. The edit functions alone on a 1 MP portrait (the public-domain photo in tests/fixtures, scaled
   to 1000x1000): enhance, background blur, background colour, in CPU milliseconds (every thread
   counted) and per megapixel. The issue's ceiling: background at most 300 ms CPU for 1 MP.
2. process() on a 12 MP phone photo (bench/pipeline.py's) and on the 1 MP portrait: plain, with
   edits=NO_EDITS (the default: the plain upload's own path), and with each edit. The edits run on
   the 384 px square, not on the source: their cost is about the same whatever the megapixels.

OpenCV runs on one thread, as in the cage's workers (faces.py sets it). Every variant is timed in
turn, N rounds, so that a busy machine slows all of them alike; the medians are printed.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.pipeline import phone_photo  # noqa: E402
from web.services.imaging import NO_EDITS, Edits, background, process  # noqa: E402
from web.services.imaging.enhance import enhance  # noqa: E402

HOPPER = ROOT / "tests" / "fixtures" / "pillow_hopper.jpg"


def portrait(side: int = 1000) -> Image.Image:
    with Image.open(HOPPER) as im:
        return im.convert("RGB").resize((side, side), Image.Resampling.BICUBIC)


def cpu_ms(job: Callable[[], object]) -> float:
    start = time.process_time()
    job()
    return (time.process_time() - start) * 1000


def medians(jobs: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    for job in jobs.values():  # warm: the model loaded, the caches filled
        job()
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(runs):
        for name, job in jobs.items():
            times[name].append(cpu_ms(job))
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    cv2.setNumThreads(1)
    im = portrait()
    mp = im.width * im.height / 1e6
    alone = medians(
        {
            "enhance": lambda: enhance(im),
            "background mask only": lambda: background.person_mask(im),
            "background blur": lambda: background.blurred(im),
            "background colour": lambda: background.coloured(im, (26, 107, 156)),
        },
        runs,
    )
    print(f"The edit functions alone on a {im.width}x{im.height} portrait ({mp:.2f} MP), CPU ms:")
    for name, ms in alone.items():
        print(f"  {name:24s} {ms:8.1f} ms   {ms / mp:8.1f} ms/MP")
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    for label, data in (("12 MP phone photo", phone_photo()), ("1 MP portrait", buf.getvalue())):
        with Image.open(io.BytesIO(data)) as probe:
            source_mp = probe.width * probe.height / 1e6
        jobs: dict[str, Callable[[], object]] = {
            "plain": lambda d=data: process(d),
            "plain, edits=NO_EDITS": lambda d=data: process(d, edits=NO_EDITS),
            "enhance": lambda d=data: process(d, edits=Edits(enhance=True)),
            "background blur": lambda d=data: process(d, edits=Edits(background="blur")),
            "background colour": lambda d=data: process(
                d, edits=Edits(background="color", color="#1a6b9c")
            ),
            "enhance + blur": lambda d=data: process(d, edits=Edits(True, "blur")),
        }
        got = medians(jobs, runs)
        base = got["plain"]
        print(f"\nprocess() on the {label} ({source_mp:.1f} MP), CPU ms, median of {runs}:")
        for name, ms in got.items():
            extra = ms - base
            print(
                f"  {name:24s} {ms:8.1f} ms  x{ms / base:5.2f}  "
                f"+{extra:7.1f} ms  (+{extra / source_mp:6.1f} ms/MP)"
            )


if __name__ == "__main__":
    main()
