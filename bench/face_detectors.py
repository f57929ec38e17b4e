"""EXPERIMENT: BlazeFace (bench/blazeface.py: make its models first, as it says) beside the Haar
search of faces.py: what each finds on bench/faces.py's grid, what each wrongly finds on
faceless photos, and what each costs on the 12 MP photo's frame.

    .venv/bin/python bench/face_detectors.py [--runs N]

- The grid: the 343 placements of the hopper face, 1/16 to 1/7 of the long edge on 7 canvases
  (bench/faces.py). "found" counts a frame where a face is reported, as bench/faces.py does;
  "in place" only those whose largest face has its centre inside the pasted picture.
- Faceless: phone_photo (bench/pipeline.py) with 12 seeds at its draft scale, and each squeezed
  to a 3:1 panorama (1500x500): the frames where anything is reported.
- Cost: CPU time (thread_time, median of --runs, alternating) of one search on the 12 MP photo's
  decoded frame (1008x756, no face: every pass runs) and on its panorama, one OpenCV thread.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import blazeface  # noqa: E402
from bench.faces import HOPPER_FACE, placements  # noqa: E402
from bench.pipeline import draft_frame, phone_photo  # noqa: E402
from web.services.imaging import faces  # noqa: E402

Search = Callable[[Image.Image], tuple[float, float, float] | None]
# MediaPipe's own score threshold for the full-range graph is 0.6; a face whole-frame is small
# enough that 0.5 finds more, and on pieces 0.7 keeps the faceless photos clean.
FULL_05 = dataclasses.replace(blazeface.FULL, min_score=0.5)
FULL_07 = dataclasses.replace(blazeface.FULL, min_score=0.7)


def searches() -> dict[str, Search]:
    def blaze(model: blazeface.Model, tiles: int) -> Search:
        return lambda frame: blazeface.largest_face(frame, model, tiles)

    def larger(wide: blazeface.Model, tall: blazeface.Model, score: float = 0.6) -> Search:
        def search(frame: Image.Image) -> tuple[float, float, float] | None:
            model = wide if frame.width >= frame.height else tall
            return blazeface.largest_face(frame, dataclasses.replace(model, min_score=score))

        return search

    return {
        "Haar, two passes": faces.largest_face,
        "full range, whole": blaze(blazeface.FULL, 1),
        "full range, whole, 0.5": blaze(FULL_05, 1),
        "full range, 2 pieces": blaze(blazeface.FULL, 2),
        "full range, 2 pieces, 0.7": blaze(FULL_07, 2),
        "full range, 3 pieces": blaze(blazeface.FULL, 3),
        "full range, 256x192 whole": larger(blazeface.FULL_WIDE, blazeface.FULL_TALL),
        "full range, 256x192, 0.55": larger(blazeface.FULL_WIDE, blazeface.FULL_TALL, 0.55),
        "full range, 288x224 whole": larger(blazeface.FULL_WIDER, blazeface.FULL_TALLER),
        "short range, 3 pieces": blaze(blazeface.SHORT, 3),
    }


def pasted(frame: Image.Image, share: int) -> tuple[float, float, float]:
    """Where bench/faces.with_face put the hopper picture: left, top, side. Found again by
    colour, since placements() keeps only the frame."""
    side = round(max(frame.size) / share / HOPPER_FACE)
    grey = frame.convert("L").point(lambda v: 0 if v == 132 else 255)  # the backdrop's grey
    left, top, _right, _bottom = grey.getbbox() or (0, 0, 0, 0)
    return float(left), float(top), float(side)


def inside(found: tuple[float, float, float] | None, box: tuple[float, float, float]) -> bool:
    if found is None:
        return False
    cx, cy = found[0] + found[2] / 2, found[1] + found[2] / 2
    return box[0] <= cx <= box[0] + box[2] and box[1] <= cy <= box[1] + box[2]


def grid(named: dict[str, Search]) -> None:
    placed = [(share, frame, pasted(frame, share)) for share, frame in placements()]
    print(f"grid: {len(placed)} placements; found / in place / found at 1/16 (of 49)")
    for name, search in named.items():
        answers = [(share, search(frame), box) for share, frame, box in placed]
        found = sum(a is not None for _s, a, _b in answers)
        right = sum(inside(a, b) for _s, a, b in answers)
        small = sum(a is not None for s, a, _b in answers if s == 16)
        missed = sorted({s for s, a, b in answers if not inside(a, b)})
        print(f"  {name:26} {found:3} / {right:3} / {small:2}   missed at 1/{missed}")


def faceless(named: dict[str, Search]) -> None:
    photos = [draft_frame(phone_photo(seed)) for seed in range(1, 13)]
    frames = photos + [p.resize((1500, 500)) for p in photos]
    print(f"faceless: frames with a face reported, of {len(frames)}")
    for name, search in named.items():
        print(f"  {name:26} {sum(search(f) is not None for f in frames):3}")


def cost(named: dict[str, Search], runs: int) -> None:
    photo = draft_frame(phone_photo())
    squeezed = photo.resize((1500, 500))
    for label, frame in (("12 MP photo", photo), ("photo squeezed to 3:1", squeezed)):
        times: dict[str, list[float]] = {name: [] for name in named}
        for search in named.values():
            search(frame)  # warm up: models and cascade load
        for _ in range(runs):
            for name, search in named.items():
                start = time.thread_time()
                search(frame)
                times[name].append((time.thread_time() - start) * 1000)
        haar = statistics.median(times["Haar, two passes"])
        print(f"cost on the {label} ({frame.width}x{frame.height}, no face), CPU ms per search:")
        for name, spent in times.items():
            ms = statistics.median(spent)
            print(f"  {name:26} {ms:6.1f} ms  {haar / ms:4.1f}x cheaper than Haar")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    named = searches()
    print(f"load average {os.getloadavg()[0]:.2f}; median of {runs} alternating runs")
    cost(named, runs)
    faceless(named)
    grid(named)
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
