"""What the face search (web/services/imaging/faces.py) costs, before and after it looked for
faces down to a sixteenth of the long edge, and what it finds.

    .venv/bin/python bench/faces.py [--runs N]

Before: one pass on the frame cut to at most 200 px, faces from a tenth of that picture (kept
here, as it was, as the baseline). After: faces.largest_face, two passes (a tenth and more at
200 px; only when none is there, down to a twentieth at 400 px). Both run alternately, in this
process, on the same frames, on one thread, as process() runs them:

- the 12 MP phone photo of bench/pipeline.py at its draft scale (1008x756, no face: every
  pass runs; the worst case);
- Pillow's hopper face large on a 1600x1200 backdrop (found by the first pass);
- the issue's panorama: 1500x500 with a face 115 px tall (7.7 % of the long edge), and the
  same backdrop without it (the photo's noise, squeezed);
- what each finds there, and how many of 343 placements of the hopper face each finds (1/16
  to 1/7 of the long edge, 7 places on 7 canvases);
- and what that does to process(), the whole pipeline of an upload (every core's CPU time:
  the master is encoded on another thread meanwhile), on the 12 MP photo and the panorama.

CPU time per search (thread_time, median of --runs) is printed with the wall time: on a shared
machine the CPU time moves less. The figure to read is the ratio after / before.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.pipeline import draft_frame, phone_photo  # noqa: E402
from web.services.imaging import faces, process  # noqa: E402

HOPPER = Path(__file__).parents[1] / "tests/fixtures/pillow_hopper.jpg"
HOPPER_FACE = 58 / 128  # the face's height in hopper.jpg (tests/unit/test_face_crop.py)
Search = Callable[[Image.Image], tuple[float, float, float] | None]


def before(frame: Image.Image) -> tuple[float, float, float] | None:
    """The search as it was (a9f10c3): at most 200 px, faces from a tenth of that picture."""
    factor = -(-max(frame.size) // 200)
    small = (frame.reduce(factor) if factor > 1 else frame).convert("L")
    smallest = max(20, round(0.1 * max(small.size)))
    found = faces._cascade().detectMultiScale(
        np.asarray(small), scaleFactor=1.15, minNeighbors=3, minSize=(smallest, smallest)
    )
    if len(found) == 0:
        return None
    x, y, w, h = max(found, key=lambda box: int(box[2]) * int(box[3]))
    sx, sy = frame.width / small.width, frame.height / small.height
    return float(x * sx), float(y * sy), float(max(w, h) * sx)


def with_face(size: tuple[int, int], face_px: float, at: tuple[float, float]) -> Image.Image:
    """hopper.jpg scaled so its face is face_px tall, pasted at (x, y) fractions of the room."""
    hopper = Image.open(HOPPER).convert("RGB")
    side = round(face_px / HOPPER_FACE)
    canvas = Image.new("RGB", size, (120, 140, 120))
    left, top = round((size[0] - side) * at[0]), round((size[1] - side) * at[1])
    canvas.paste(hopper.resize((side, side)), (left, top))
    return canvas


def cases() -> dict[str, Image.Image]:
    photo = draft_frame(phone_photo())
    return {
        "12 MP photo, no face": photo,
        "hopper, face 1/4": with_face((1600, 1200), 400, (0.8, 0.3)),
        "panorama, face 115 px": with_face((1500, 500), 115, (0.8, 0.5)),
        "panorama, no face": photo.resize((1500, 500)),
    }


def timed(search: Search, frame: Image.Image) -> tuple[float, float]:
    start, start_cpu = time.perf_counter(), time.thread_time()
    search(frame)
    return (time.perf_counter() - start) * 1000, (time.thread_time() - start_cpu) * 1000


def cost(runs: int) -> None:
    print(f"{'':24} {'before CPU':>10} {'after CPU':>10} {'ratio':>6}   wall before/after   found")
    for label, frame in cases().items():
        found = before(frame), faces.largest_face(frame)  # warm up: the cascade loads
        times: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
        for _ in range(runs):  # alternately: a busy machine slows both alike
            times["before"].append(timed(before, frame))
            times["after"].append(timed(faces.largest_face, frame))
        wall = {k: statistics.median(t[0] for t in v) for k, v in times.items()}
        cpu = {k: statistics.median(t[1] for t in v) for k, v in times.items()}
        said = "/".join("face" if f else "none" for f in found)
        ratio = cpu["after"] / cpu["before"]
        print(
            f"{label:24} {cpu['before']:7.1f} ms {cpu['after']:7.1f} ms {ratio:5.2f}x"
            f"   {wall['before']:5.1f} / {wall['after']:5.1f} ms   {said}"
        )


def placements() -> list[tuple[int, Image.Image]]:
    """The hopper face at 1/16 to 1/7 of the long edge (the share, and the picture), at 7 places
    on 7 canvases: photos from 1008x756 to 4032x3024, a portrait, and 2:1 and 3:1 panoramas."""
    canvases = [(1500, 500), (3000, 1000), (2000, 1000), (1600, 1200), (1008, 756), (900, 1200)]
    canvases.append((4032, 3024))
    places = [(0.1, 0.5), (0.5, 0.5), (0.85, 0.3), (0.3, 0.9), (0.7, 0.1), (0.2, 0.2), (0.6, 0.7)]
    return [
        (share, with_face(size, max(size) / share, at))
        for size in canvases
        for share in (16, 15, 14, 12, 10, 9, 7)
        for at in places
        if max(size) / share / HOPPER_FACE <= min(size)
    ]


def upload_cost(runs: int) -> None:
    """process() (the whole pipeline an upload runs, its master encoded on another thread while
    the face is looked for) with the search before and after, alternately."""
    after = faces.largest_face
    panorama = io.BytesIO()
    with_face((1500, 500), 115, (0.8, 0.5)).save(panorama, "JPEG", quality=90)
    for label, data in (("12 MP photo", phone_photo()), ("panorama, face", panorama.getvalue())):
        times: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
        for _ in range(runs):
            for name, search in (("before", before), ("after", after)):
                faces.largest_face = search  # face_crop looks it up by name
                start, start_cpu = time.perf_counter(), time.process_time()
                process(data)
                wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
                times[name].append((wall * 1000, cpu * 1000))
        faces.largest_face = after
        wall = {k: statistics.median(t[0] for t in v) for k, v in times.items()}
        cpu = {k: statistics.median(t[1] for t in v) for k, v in times.items()}
        print(
            f"process(), {label:15} wall {wall['before']:6.1f} -> {wall['after']:6.1f} ms "
            f"({wall['after'] / wall['before']:.2f}x), CPU {cpu['before']:6.1f} -> "
            f"{cpu['after']:6.1f} ms ({cpu['after'] / cpu['before']:.2f}x)"
        )


def grid() -> None:
    placed = placements()
    sixteenths = [frame for share, frame in placed if share == 16]
    for name, search in (("before", before), ("after", faces.largest_face)):
        found = sum(search(frame) is not None for _share, frame in placed)
        small = sum(search(frame) is not None for frame in sixteenths)
        print(
            f"{name:6}: found {found} of {len(placed)} placements (1/16 to 1/7 of the long "
            f"edge), {small} of the {len(sixteenths)} at 1/16"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    print(f"face search, median of {runs} alternating runs, one thread")
    cost(runs)
    upload_cost(max(5, runs // 3))
    grid()


if __name__ == "__main__":
    main()
